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
import { parseCheckedFile } from './checked-files.js';
import type { SkippedLine } from './core/parse.js';
import { classify, type Classification } from './core/classify.js';
import { strip, type StripResult } from './core/strip.js';
import { merge, type MergeResult } from './core/merge.js';
import { learnDockerFacts, type DockerFacts } from './core/facts.js';
import { selectProfiles, type OwnerProfile } from './core/owners/index.js';
import type { Diagnostic } from './errors.js';
import { readInput, textDigest, type Input } from './io/input.js';
import { rulesetLimit } from './core/limits.js';
import { readLive, type Live } from './io/live.js';
import { readDockerApi, DEFAULT_DOCKER_SOCKET } from './io/docker-api.js';
import { detectBackend, otherBackendInUse, toolVersion, type Backend } from './io/iptables.js';
import { cachedCanonical, canonicalUserPart, type CanonicalMode, type CanonicalResult } from './canonical-form.js';

const familyTool = (f: Family) => (f === 'ipv4' ? 'iptables' : 'ip6tables');

export interface PipelineOptions {
  file?: string;
  /** A ruleset given as text instead of a file (a snapshot being rolled back to). */
  inputText?: { name: string; text: string; tables?: readonly string[] };
  family: Family;
  liveFrom?: string;
  backend?: Backend | 'auto';
  dockerSocket?: string;
  preserve?: string[];
  /** Bring the user's part to canonical form before merging (plan, apply); merge/explain leave it as written. */
  canonical?: CanonicalMode;
  stateDir?: string;
  /** Operate on this network namespace's firewall (a path such as /run/netns/NAME). */
  netns?: string;
  /** Seconds to wait for the xtables lock. */
  wait?: number;
  /** Read an input file a non-root user could have written (a warning instead of a refusal). */
  force?: boolean;
  /** The largest ruleset read (FILE, stdin, --live-from), in bytes: the configuration's max-ruleset-size (core/limits.ts). */
  maxRulesetSize?: number;
  /** iptables-restore --noflush: the file's commands act on the live ruleset (the twin's -n). */
  noflush?: boolean;
  /** An input with no tables is an empty ruleset (nothing to do), as iptables-restore takes it: the twin, reconcile. */
  allowEmpty?: boolean;
  /** Only these tables of the file (the twin's -T); the others are left alone. */
  tables?: readonly string[];
  /** Passed on to iptables-restore when writing: --counters (rule counters from the file), -W, -M. */
  counters?: boolean;
  waitInterval?: number;
  modprobe?: string;
}

export interface Pipeline {
  input: Input;
  user: Ruleset;
  parseWarnings: Diagnostic[];
  /** Lines of the file tagged for the other family (`-6` in an IPv4 file): skipped, as iptables-restore does. */
  skipped: SkippedLine[];
  live: Live;
  profiles: OwnerProfile[];
  facts: DockerFacts;
  userClass: Classification;
  liveClass: Classification;
  stripped: StripResult;
  merged: MergeResult;
  /** How the user's part was brought to canonical form, when it was. */
  canonical?: CanonicalResult;
  /** Notes on how facts were obtained (Docker API answered or not). */
  notes: string[];
  /** Warnings about the host (rules in both iptables backends). */
  warnings: string[];
}

export async function buildTarget(opts: PipelineOptions): Promise<Pipeline> {
  const profiles = selectProfiles(opts.preserve ?? []);
  const root = process.getuid?.() === 0;
  const backendGiven = opts.backend && opts.backend !== 'auto' ? opts.backend : undefined;
  const backendHere = backendGiven ?? (!opts.liveFrom || (opts.canonical && root) ? await detectBackend(opts.family) : undefined);
  // Everything that waits on other processes starts now and runs while we parse the file:
  // iptables-save (parsed as it writes), the other backend's save (split brain), the Docker
  // API, the iptables version (part of the canonical cache key).
  const livePromise = readLive({ family: opts.family, backend: backendHere ?? opts.backend, liveFrom: opts.liveFrom, netns: opts.netns, force: opts.force, maxRulesetSize: opts.maxRulesetSize });
  const splitBrain = backendHere && !opts.liveFrom ? otherBackendInUse(opts.family, backendHere, opts.netns) : Promise.resolve(false);
  const apiPromise = dockerApi(opts);
  if (opts.canonical && backendHere && root) void toolVersion(opts.family, backendHere).catch(() => {});
  for (const p of [livePromise, splitBrain, apiPromise]) Promise.resolve(p).catch(() => {}); // awaited below; a parse error must not leave them unhandled
  const input: Input = opts.inputText
    ? { name: opts.inputText.name, text: opts.inputText.text, digest: textDigest(opts.inputText.text) }
    : readInput(opts.file, { force: opts.force, limit: rulesetLimit(opts.maxRulesetSize) });
  // --noflush: the file's commands replay on the live ruleset, so they wait for it
  const base = opts.noflush ? (await livePromise).ruleset : undefined;
  // a text that passed every check before (same digest) is parsed the quick way: checked-files.ts
  const { ruleset: user, warnings: parseWarnings, skipped } = parseCheckedFile(input.text, {
    file: input.name, family: opts.family, base, allowEmpty: opts.allowEmpty, counters: opts.counters, digest: input.digest, stateDir: opts.canonical ? opts.stateDir : undefined,
  });
  const only = opts.tables ?? opts.inputText?.tables;
  if (only) for (const t of [...user.tables.keys()]) if (!only.includes(t)) user.tables.delete(t);
  // Still while iptables-save runs: guess what will be stripped from what the file alone says
  // about Docker, and read that canonical form from the cache. Kept only if the real strip,
  // with the live facts, makes exactly the same decisions.
  let guess: { stripped: StripResult; canonical?: CanonicalResult } | undefined;
  if (opts.canonical && backendHere && root) {
    const fileFacts = learnDockerFacts({ files: [user] });
    const stripped = strip(user, classify(user, profiles, fileFacts));
    guess = { stripped, canonical: await cachedCanonical(stripped.ruleset, { mode: opts.canonical, family: opts.family, backend: backendHere, stateDir: opts.stateDir }) };
  }
  const live = await livePromise;
  const notes: string[] = [];
  const warnings: string[] = [];
  const api = await apiPromise;
  if (live.backend && (await splitBrain)) {
    const other = live.backend === 'nft' ? 'legacy' : 'nft';
    warnings.push(`SPLIT BRAIN: the ${other} backend also holds rules (${familyTool(opts.family)}-${other}-save shows them), but this run reads and writes only ${live.backend}. Packets pass through both; decide which backend owns the firewall.`);
  }
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
  let canonical: CanonicalResult | undefined;
  if (opts.canonical) {
    const backend = backendGiven ?? live.backend ?? backendHere;
    canonical = guess?.canonical && sameStrip(guess.stripped, stripped)
      ? guess.canonical
      : await canonicalUserPart(stripped.ruleset, { mode: opts.canonical, family: opts.family, backend, stateDir: opts.stateDir, wait: opts.wait, waitInterval: opts.waitInterval });
    stripped.ruleset = canonical.ruleset;
  }
  const merged = merge(stripped, live.ruleset, liveClass, facts);
  if (facts.firewallBackend === 'nftables') notes.push("Docker reports its nftables firewall backend: it puts nothing in iptables");
  return { input, user, parseWarnings, skipped, live, profiles, facts, userClass, liveClass, stripped, merged, canonical, notes, warnings };
}

/** What the Engine API says (unless the live ruleset comes from a file and no socket was given). */
function dockerApi(opts: PipelineOptions): ReturnType<typeof readDockerApi> | { why: string; facts?: undefined } {
  return opts.liveFrom && !opts.dockerSocket ? { why: 'live ruleset from a file: Docker API not asked' } : readDockerApi(opts.dockerSocket ?? DEFAULT_DOCKER_SOCKET);
}

export interface ClassifiedLive {
  live: Live;
  profiles: OwnerProfile[];
  liveClass: Classification;
  notes: string[];
}

/** The live ruleset alone, each chain and rule labelled with its owner (save, stop: no file). */
export async function classifyLive(opts: Omit<PipelineOptions, 'file'> & { counters?: boolean }): Promise<ClassifiedLive> {
  const profiles = selectProfiles(opts.preserve ?? []);
  const live = await readLive({ family: opts.family, backend: opts.backend, liveFrom: opts.liveFrom, netns: opts.netns, counters: opts.counters, force: opts.force, maxRulesetSize: opts.maxRulesetSize });
  const api = await dockerApi(opts);
  const facts = learnDockerFacts({ live: [live.ruleset], networks: api.facts?.networks, firewallBackend: api.facts?.firewallBackend });
  return { live, profiles, liveClass: classify(live.ruleset, profiles, facts), notes: api.why ? [api.why] : [] };
}

/** Did two strips of the same file remove exactly the same lines, and keep the same user-content chains? */
function sameStrip(a: StripResult, b: StripResult): boolean {
  if (a.stripped.length !== b.stripped.length || a.userContentChains.size !== b.userContentChains.size) return false;
  for (let i = 0; i < a.stripped.length; i++) {
    const x = a.stripped[i];
    const y = b.stripped[i];
    if (x.table !== y.table || x.chain !== y.chain || x.line !== y.line || x.text !== y.text) return false;
  }
  for (const [t, chains] of a.userContentChains) {
    const other = b.userContentChains.get(t);
    if (!other || other.size !== chains.size || [...chains].some((c) => !other.has(c))) return false;
  }
  return true;
}
