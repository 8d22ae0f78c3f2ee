// One ruleset from file to target, in the order a reader follows it:
//
//   file ──parse──▶ Ruleset ──classify──▶ owners ──strip──▶ user's part
//                                                             │
//   live (iptables-save / --live-from) ──classify──▶ owned part ──merge──▶ target
//
// Facts about Docker (bridges, subnets, containers) are learned from both rulesets and,
// when it answers, the Engine API. Every command that needs a target (merge, explain, plan,
// apply) gets it here, so they all see the same thing.
import type { Family, Ruleset } from './core/model.js';
import { parseRuleset } from './core/parse.js';
import { classify, type Classification } from './core/classify.js';
import { strip, type StripResult } from './core/strip.js';
import { merge, type MergeResult } from './core/merge.js';
import { learnDockerFacts, type DockerFacts } from './core/facts.js';
import { selectProfiles, type OwnerProfile } from './core/owners/index.js';
import type { Diagnostic } from './errors.js';
import { readInput, type Input } from './io/input.js';
import { readLive, type Live } from './io/live.js';
import { readDockerApi, DEFAULT_DOCKER_SOCKET } from './io/docker-api.js';
import type { Backend } from './io/iptables.js';

export interface PipelineOptions {
  file?: string;
  family: Family;
  liveFrom?: string;
  backend?: Backend | 'auto';
  dockerSocket?: string;
  preserve?: string[];
}

export interface Pipeline {
  input: Input;
  user: Ruleset;
  parseWarnings: Diagnostic[];
  live: Live;
  profiles: OwnerProfile[];
  facts: DockerFacts;
  userClass: Classification;
  liveClass: Classification;
  stripped: StripResult;
  merged: MergeResult;
  /** Notes on how facts were obtained (Docker API answered or not). */
  notes: string[];
}

export async function buildTarget(opts: PipelineOptions): Promise<Pipeline> {
  const profiles = selectProfiles(opts.preserve ?? []);
  const input = readInput(opts.file);
  const { ruleset: user, warnings } = parseRuleset(input.text, { file: input.name, family: opts.family });
  const live = await readLive({ family: opts.family, backend: opts.backend, liveFrom: opts.liveFrom });
  const notes: string[] = [];
  const api = opts.liveFrom && !opts.dockerSocket ? { why: 'live ruleset from a file: Docker API not asked' } : await readDockerApi(opts.dockerSocket ?? DEFAULT_DOCKER_SOCKET);
  if (api.why) notes.push(api.why);
  const facts = learnDockerFacts({
    live: [live.ruleset],
    files: [user],
    networks: api.facts?.networks,
    firewallBackend: api.facts?.firewallBackend,
  });
  const userClass = classify(user, profiles, facts);
  const liveClass = classify(live.ruleset, profiles, facts);
  const stripped = strip(user, userClass);
  const merged = merge(stripped, live.ruleset, liveClass, facts);
  if (facts.firewallBackend === 'nftables') notes.push("Docker reports its nftables firewall backend: it puts nothing in iptables");
  return { input, user, parseWarnings: warnings, live, profiles, facts, userClass, liveClass, stripped, merged, notes };
}
