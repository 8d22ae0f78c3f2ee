// The plan as data: a documented, versioned object (README "Plan JSON") that `plan --json`
// prints, `plan --out` saves and `apply --plan` reads back. The text view renders the same
// object, so the two never disagree.
import type { Family } from '../core/model.js';
import { writeRuleset } from '../core/write.js';
import { liveDigest, type PlanDiff } from '../core/plan.js';
import type { Pipeline } from '../pipeline.js';
import { VERSION } from '../version.js';

export const PLAN_SCHEMA = 'iptables-safe-restore/plan';
export const PLAN_SCHEMA_VERSION = 1;

export interface PlanChainJson {
  name: string;
  status: 'added' | 'removed' | 'changed';
  policy?: { from: string | null; to: string | null };
  add: string[];
  remove: string[];
}

export interface PlanJson {
  schema: typeof PLAN_SCHEMA;
  schemaVersion: typeof PLAN_SCHEMA_VERSION;
  tool: { name: string; version: string };
  createdAt: string;
  family: Family;
  backend: 'nft' | 'legacy' | null;
  canonical: { method: 'kernel' | 'lexical' | 'none'; cached: boolean; fallback?: string; uncertain: Array<{ line?: number; text: string; reason: string }> };
  live: { source: string; digest: string; tables: string[] };
  file: { path: string; digest: string };
  changes: boolean;
  summary: { chainsAdded: number; chainsRemoved: number; chainsChanged: number; rulesAdded: number; rulesRemoved: number };
  tables: Array<{ name: string; chainsAdded: string[]; chainsRemoved: string[]; chainsChanged: string[]; rulesAdded: number; rulesRemoved: number; chains: PlanChainJson[] }>;
  preserved: { chains: number; rules: number; byOwner: Record<string, { chains: number; rules: number }> };
  stripped: Array<{ line?: number; table: string; chain: string; text?: string; owner: string; reason: string }>;
  warnings: string[];
  notes: string[];
  /** The target, in restore format: what apply would make the kernel hold for these tables. */
  target: string;
}

/**
 * The plan object. `full` adds what only a saved or printed JSON plan needs — the live and
 * file digests and the target text (at 100k rules, ~0.1 s the text view does not have to pay).
 */
export function planReport(p: Pipeline, diff: PlanDiff, now: Date, full = true): PlanJson {
  const tables = [...p.merged.target.tables.keys()];
  const byOwner: PlanJson['preserved']['byOwner'] = {};
  for (const x of p.merged.preserved) {
    const o = (byOwner[x.owner] ??= { chains: 0, rules: 0 });
    if (x.rule) o.rules++;
    else o.chains++;
  }
  const sum = (f: (t: PlanDiff['tables'][number]) => number) => diff.tables.reduce((s, t) => s + f(t), 0);
  return {
    schema: PLAN_SCHEMA,
    schemaVersion: PLAN_SCHEMA_VERSION,
    tool: { name: 'iptables-safe-restore', version: VERSION },
    createdAt: now.toISOString(),
    family: p.user.family,
    backend: p.live.backend ?? p.canonical?.backend ?? null,
    canonical: p.canonical
      ? { method: p.canonical.method, cached: p.canonical.cached, ...(p.canonical.fallback ? { fallback: p.canonical.fallback } : {}), uncertain: p.canonical.uncertain }
      : { method: 'none', cached: false, uncertain: [] },
    live: { source: p.live.source, digest: full ? liveDigest(p.live.ruleset, tables) : '', tables },
    file: { path: p.input.name, digest: full ? p.input.digest : '' },
    changes: diff.changes,
    summary: {
      chainsAdded: sum((t) => t.chainsAdded.length), chainsRemoved: sum((t) => t.chainsRemoved.length),
      chainsChanged: sum((t) => t.chainsChanged.length), rulesAdded: sum((t) => t.rulesAdded), rulesRemoved: sum((t) => t.rulesRemoved),
    },
    tables: diff.tables.map((t) => ({
      name: t.table, chainsAdded: t.chainsAdded, chainsRemoved: t.chainsRemoved, chainsChanged: t.chainsChanged,
      rulesAdded: t.rulesAdded, rulesRemoved: t.rulesRemoved,
      chains: t.chains.map((c) => ({
        name: c.chain, status: c.status, ...(c.policy ? { policy: c.policy } : {}),
        add: c.runs.filter((r) => r.op === '+').flatMap((r) => r.lines),
        remove: c.runs.filter((r) => r.op === '-').flatMap((r) => r.lines),
      })),
    })),
    preserved: { chains: p.merged.preserved.filter((x) => !x.rule).length, rules: p.merged.preserved.filter((x) => x.rule).length, byOwner },
    stripped: p.stripped.stripped.map((s) => ({ line: s.line, table: s.table, chain: s.chain, ...(s.text !== undefined ? { text: s.text } : {}), owner: s.owner, reason: s.reason })),
    warnings: [...p.warnings, ...p.merged.warnings],
    notes: [...p.notes, ...p.merged.notes],
    target: full ? writeRuleset(p.merged.target) : '',
  };
}
