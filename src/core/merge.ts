// Merge: the user's stripped ruleset plus the owned parts of the live ruleset, giving the
// target — exactly what the kernel would hold if the user's file had been restored and
// Docker (and every other preserved owner) had then re-added its rules, without restarting
// anything.
//
//  - Tables the file does not name are left out: they stay as they are, as iptables-restore
//    leaves them.
//  - Owned chains come from live, whole (a stale copy in the file was stripped).
//    A user-content chain (DOCKER-USER) takes the file's contents when the file gives any.
//  - In a built-in chain, owned live rules keep their order and go above the user's rules
//    (owners that insert, e.g. Docker's FORWARD jumps) or below them (owners that append,
//    e.g. Docker's hairpin MASQUERADE), as the owner's profile says.
//  - Policies come from the file; a built-in chain the file does not declare keeps its live policy.
import { BUILTIN_CHAINS, newRuleset, newTable, type Chain, type Family, type Rule, type Ruleset, type TableName } from './model.js';
import { isKnownTarget } from './targets.js';
import { USER, verdictOf, type Classification } from './classify.js';
import type { StripResult } from './strip.js';
import type { DockerFacts } from './facts.js';

export interface Preserved {
  table: TableName;
  chain: string;
  /** undefined: the whole chain (declaration). */
  rule?: Rule;
  owner: string;
  reason: string;
}

export interface MergeResult {
  target: Ruleset;
  preserved: Preserved[];
  warnings: string[];
  notes: string[];
}

export function merge(user: StripResult, live: Ruleset, liveCls: Classification, facts: DockerFacts): MergeResult {
  const target = newRuleset(user.ruleset.family);
  const preserved: Preserved[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];

  for (const ut of user.ruleset.tables.values()) {
    const lt = live.tables.get(ut.name);
    const verdicts = lt ? liveCls.chains.get(ut.name)! : new Map();
    const userContent = user.userContentChains.get(ut.name) ?? new Set<string>();
    const t = newTable(ut.name, ut.source);
    target.tables.set(ut.name, t);

    for (const name of BUILTIN_CHAINS[ut.name]) {
      const uc = ut.chains.get(name)!;
      const lc = lt?.chains.get(name);
      const lead: Rule[] = [];
      const trail: Rule[] = [];
      for (const r of lc?.rules ?? []) {
        const v = liveCls.rules.get(r)!;
        if (v.owner === USER) continue;
        (v.placement === 'trailing' ? trail : lead).push(r);
        preserved.push({ table: ut.name, chain: name, rule: r, owner: v.owner, reason: v.reason });
      }
      t.chains.set(name, { ...uc, policy: uc.policy ?? lc?.policy ?? null, rules: [...lead, ...uc.rules, ...trail] });
    }
    for (const lc of lt?.chains.values() ?? []) {
      const v = verdicts.get(lc.name);
      if (lc.builtin || !v || v.owner === USER) continue;
      const fromFile = userContent.has(lc.name) ? ut.chains.get(lc.name) : undefined;
      t.chains.set(lc.name, fromFile ? { ...fromFile } : { ...lc, rules: [...lc.rules] });
      preserved.push({ table: ut.name, chain: lc.name, owner: v.owner, reason: fromFile ? `${v.reason} (contents from your file)` : v.reason });
      if (!fromFile) for (const r of lc.rules) preserved.push({ table: ut.name, chain: lc.name, rule: r, owner: v.owner, reason: verdictOf(liveCls, ut.name, lc.name, r).reason });
    }
    for (const uc of ut.chains.values()) {
      if (uc.builtin || t.chains.has(uc.name)) continue;
      t.chains.set(uc.name, { ...uc });
    }
    danglingJumps(t.chains, ut.name, target.family, warnings);
  }

  const ownedLive = preserved.length > 0;
  if (!ownedLive) notes.push('no Docker (or other preserved) chains or rules are live: the target is your file without what Docker owns');
  forwardWarnings(target, preserved, facts, warnings);
  return { target, preserved, warnings, notes };
}

/** A rule whose jump target is neither a chain the table will have nor a target extension. */
function danglingJumps(chains: Map<string, Chain>, table: TableName, family: Family, warnings: string[]): void {
  for (const c of chains.values()) {
    for (const r of c.rules) {
      const to = r.target?.name;
      if (to === undefined || chains.has(to) || isKnownTarget(to, family)) continue;
      warnings.push(`${table}/${c.name}: a rule jumps to chain ${to}, which is not live and not in your file (line ${r.source?.line ?? '?'})`);
    }
  }
}

const DROPPING = new Set(['DROP', 'REJECT']);

/**
 * Warn when forwarded traffic to Docker's containers would still be dropped: a user DROP or
 * REJECT in FORWARD above Docker's rules, or — where Docker writes no iptables rules (its
 * nftables backend) — a FORWARD policy or rule that drops forwarded traffic.
 */
function forwardWarnings(target: Ruleset, preserved: Preserved[], facts: DockerFacts, warnings: string[]): void {
  const fwd = target.tables.get('filter')?.chains.get('FORWARD');
  if (!fwd) return;
  const dockerRules = new Set(preserved.filter((p) => p.owner === 'docker' && p.rule).map((p) => p.rule!));
  const firstDocker = fwd.rules.findIndex((r) => dockerRules.has(r));
  if (firstDocker > 0) {
    const blocker = fwd.rules.slice(0, firstDocker).find((r) => DROPPING.has(r.target?.name ?? ''));
    if (blocker) {
      warnings.push(`filter/FORWARD: your rule '${blocker.text}' (line ${blocker.source?.line ?? '?'}) comes before Docker's rules and may drop traffic to published ports`);
    }
  }
  if (firstDocker < 0 && (facts.firewallBackend === 'nftables' || facts.bridges.size > 0)) {
    const dropper = fwd.rules.find((r) => DROPPING.has(r.target?.name ?? '') && r.args.length <= 4);
    const why = fwd.policy === 'DROP' ? 'the FORWARD policy is DROP' : dropper ? `your rule '${dropper.text}' drops it` : undefined;
    if (why) {
      const where = facts.firewallBackend === 'nftables' ? "Docker uses its nftables firewall backend and writes no iptables rules, but" : 'Docker has no FORWARD rules live, and';
      warnings.push(`filter/FORWARD: ${where} ${why}: forwarded traffic to containers would be dropped`);
    }
  }
}
