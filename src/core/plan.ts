// Plan: what would change, table by table and chain by chain, between the live ruleset and
// the target. Pure: both rulesets are already in canonical form (kernel-printed, or
// lexically normalized), so comparing rule text is comparing rules.
//
// Only the tables the target names are compared: the others are left alone on apply.
// Chains are diffed one at a time (line-diff.ts), which keeps plan fast whatever the churn.
import { createHash } from 'node:crypto';
import { chainsInSaveOrder, type Chain, type Ruleset, type Table, type TableName } from './model.js';
import { diffLines, type Run } from './line-diff.js';

export interface ChainChange {
  chain: string;
  status: 'added' | 'removed' | 'changed';
  /** Set when the policy changes. */
  policy?: { from: string | null; to: string | null };
  added: number;
  removed: number;
  runs: Run[];
  /** 1-based line of the chain's first rule in each side's iptables-save text of the table. */
  liveLine: number;
  targetLine: number;
}

export interface TableChange {
  table: TableName;
  chains: ChainChange[];
  chainsAdded: string[];
  chainsRemoved: string[];
  chainsChanged: string[];
  rulesAdded: number;
  rulesRemoved: number;
}

export interface PlanDiff {
  tables: TableChange[];
  changes: boolean;
}

export function planDiff(live: Ruleset, target: Ruleset): PlanDiff {
  const tables: TableChange[] = [];
  for (const tt of target.tables.values()) {
    const lt = live.tables.get(tt.name);
    tables.push(diffTable(tt.name, lt, tt));
  }
  return { tables, changes: tables.some((t) => t.chains.length > 0) };
}

function ruleLines(c: Chain | undefined): string[] {
  return (c?.rules ?? []).map((r) => (r.text === '' ? `-A ${c!.name}` : `-A ${c!.name} ${r.text}`));
}

const texts = (c: Chain | undefined): string[] => (c?.rules ?? []).map((r) => r.text);

function sameTexts(a: Chain | undefined, b: Chain | undefined): boolean {
  const x = a?.rules ?? [];
  const y = b?.rules ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i].text !== y[i].text) return false;
  return true;
}

/**
 * The chain's rules diffed on their texts (within one chain, line equality is text
 * equality), then shown as lines: no `-A CHAIN …` string is built, or compared, for the
 * chains that did not change, and unchanged runs become lines only when shown.
 */
function diffChain(chain: string, a: Chain | undefined, b: Chain | undefined): Run[] {
  const line = (t: string) => (t === '' ? `-A ${chain}` : `-A ${chain} ${t}`);
  return diffLines(texts(a), texts(b)).map((run) => {
    if (run.op !== ' ') return { op: run.op, lines: run.lines.map(line) };
    let lines: string[] | undefined;
    return {
      op: run.op,
      get lines() {
        return (lines ??= run.lines.map(line));
      },
    };
  });
}

/** Line of each chain's first rule in the table's save text: *table, declarations, then rules. */
function firstRuleLines(t: Table | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!t) return out;
  const chains = chainsInSaveOrder(t);
  let line = 2 + chains.length;
  for (const c of chains) {
    out.set(c.name, line);
    line += c.rules.length;
  }
  return out;
}

function diffTable(name: TableName, live: Table | undefined, target: Table): TableChange {
  const tc: TableChange = { table: name, chains: [], chainsAdded: [], chainsRemoved: [], chainsChanged: [], rulesAdded: 0, rulesRemoved: 0 };
  const liveLines = firstRuleLines(live);
  const targetLines = firstRuleLines(target);
  const names = new Set<string>([...(live ? chainsInSaveOrder(live).map((c) => c.name) : []), ...chainsInSaveOrder(target).map((c) => c.name)]);
  for (const chain of names) {
    const lc = live?.chains.get(chain);
    const tcn = target.chains.get(chain);
    const status = !lc ? 'added' : !tcn ? 'removed' : 'changed';
    // a built-in chain always exists; its "absence" from live just means no rules yet
    const builtin = lc?.builtin ?? tcn?.builtin ?? false;
    const policyFrom = lc?.policy ?? (builtin ? 'ACCEPT' : null);
    const policyTo = tcn ? (tcn.policy ?? policyFrom) : null;
    const policyChanged = builtin && tcn !== undefined && policyFrom !== policyTo;
    const same = sameTexts(lc, tcn);
    if (same && !policyChanged && (status === 'changed' || builtin)) continue;
    const runs = same ? [] : diffChain(chain, lc, tcn);
    const added = runs.filter((r) => r.op === '+').reduce((s, r) => s + r.lines.length, 0);
    const removed = runs.filter((r) => r.op === '-').reduce((s, r) => s + r.lines.length, 0);
    const change: ChainChange = {
      chain, status: builtin ? 'changed' : status, added, removed, runs,
      liveLine: liveLines.get(chain) ?? 0, targetLine: targetLines.get(chain) ?? 0,
    };
    if (policyChanged) change.policy = { from: policyFrom, to: policyTo };
    tc.chains.push(change);
    if (change.status === 'added') tc.chainsAdded.push(chain);
    else if (change.status === 'removed') tc.chainsRemoved.push(chain);
    else tc.chainsChanged.push(chain);
    tc.rulesAdded += added;
    tc.rulesRemoved += removed;
  }
  return tc;
}

/**
 * A digest of the live state of the given tables: chains, policies and rules, without
 * counters (they change with every packet). A saved plan records it; apply refuses the plan
 * when the live ruleset no longer has it.
 */
export function liveDigest(live: Ruleset, tables: readonly TableName[]): string {
  const h = createHash('sha256');
  for (const name of [...tables].sort()) {
    const t = live.tables.get(name);
    h.update(`*${name}\n`);
    if (!t) continue;
    for (const c of chainsInSaveOrder(t)) h.update(`:${c.name} ${c.builtin ? (c.policy ?? 'ACCEPT') : '-'}\n`);
    for (const c of chainsInSaveOrder(t)) for (const line of ruleLines(c)) h.update(line + '\n');
  }
  return `sha256:${h.digest('hex')}`;
}
