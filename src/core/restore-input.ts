// The minimal `iptables-restore --noflush` input that turns the live ruleset into the target,
// table by table, writing only what the user owns.
//
// Why minimal, and why this shape:
//  - Owned chains (Docker's DOCKER, DOCKER-FORWARD, …) are never declared, flushed or
//    rewritten: a change Docker makes to them while we apply is never lost.
//  - A user chain where a few rules change gets just those deleted and inserted; one that
//    changes a lot is flushed (-F) and refilled; a new one is created (-N); one that is gone
//    is flushed first and deleted (-X) last, after every jump to it has been removed. Chains
//    that do not change are not touched at all.
//  - A built-in chain that may hold owned rules (FORWARD, nat POSTROUTING, …) is edited
//    surgically: the user's rules that go are deleted by specification (-D CHAIN spec, which
//    can only ever match a rule of that text), the new ones inserted at their positions (-I).
//    Docker's rules in it are never deleted and re-added, so one Docker adds meanwhile
//    survives; if Docker shifted positions meanwhile, verification sees the user's block out
//    of place and apply runs again.
//  - A built-in chain with no owned rules and many user rules to replace is flushed and
//    refilled (-D by specification costs a scan of the chain per rule on the legacy backend).
//  - Policies change with -P.
//  - With counters (the twin's -c), every rule written carries its `[packets:bytes]` from the
//    file (restored with --counters); rules left in place keep the kernel's counters, and
//    chain (policy) counters are not written.
import { chainsInSaveOrder, type Chain, type Rule, type Ruleset, type Table, type TableName } from './model.js';
import { diffLines } from './line-diff.js';

export interface Ownership {
  /** Chains the user does not own (their contents are never written). */
  ownedChains: (table: TableName) => ReadonlySet<string>;
  /** Rules of built-in chains that an owner wrote. */
  isOwnedRule: (rule: Rule) => boolean;
}

export interface TableWrite {
  table: TableName;
  /** The restore input for this table (--noflush). */
  input: string;
  created: string[];
  rewritten: string[];
  deleted: string[];
  edited: string[];
  policies: Array<{ chain: string; policy: string }>;
}

/** Above this many deletions, a built-in chain without owned rules is flushed and refilled. */
const SURGICAL_LIMIT = 1000;

export interface RestoreInputOptions {
  /** Prefix each rule written with its counters, for iptables-restore --counters. */
  counters?: boolean;
}

/**
 * Before a rule written: `-c P B ` when the file set its counters in the rule (iptables-restore
 * sets those with or without --counters; getopt takes the option before the command), else
 * `[P:B] ` with counters (read by --counters), else nothing.
 */
const ctr = (r: Rule | undefined, counters: boolean) =>
  r?.counters && r.inlineCounters ? `-c ${r.counters.packets} ${r.counters.bytes} ` : counters && r?.counters ? `[${r.counters.packets}:${r.counters.bytes}] ` : '';
const line = (chain: string, r: Rule, counters: boolean) => `${ctr(r, counters)}${r.text === '' ? `-A ${chain}` : `-A ${chain} ${r.text}`}`;
const spec = (r: Rule) => (r.text === '' ? '' : ` ${r.text}`);
const sameRules = (a: Chain, b: Chain) => a.rules.length === b.rules.length && a.rules.every((r, i) => r.text === b.rules[i].text);

export function restoreInputs(live: Ruleset, target: Ruleset, own: Ownership, opts: RestoreInputOptions = {}): TableWrite[] {
  const out: TableWrite[] = [];
  for (const tt of target.tables.values()) {
    const w = tableWrite(live.tables.get(tt.name), tt, own, opts.counters ?? false);
    if (w) out.push(w);
  }
  return out;
}

function tableWrite(lt: Table | undefined, tt: Table, own: Ownership, counters: boolean): TableWrite | undefined {
  const owned = own.ownedChains(tt.name);
  const head: string[] = []; // -N, -F, -P
  const body: string[] = []; // -D, -A, -I
  const tail: string[] = []; // -X
  const w: TableWrite = { table: tt.name, input: '', created: [], rewritten: [], deleted: [], edited: [], policies: [] };

  for (const tc of chainsInSaveOrder(tt)) {
    if (owned.has(tc.name)) continue;
    const lc = lt?.chains.get(tc.name);
    if (tc.builtin) {
      const from = lc?.policy ?? 'ACCEPT';
      if (tc.policy && tc.policy !== from) {
        head.push(`-P ${tc.name} ${tc.policy}`);
        w.policies.push({ chain: tc.name, policy: tc.policy });
      }
      if (!lc ? tc.rules.length > 0 : !sameRules(lc, tc)) builtinEdit(lc, tc, own, head, body, w, counters);
      continue;
    }
    if (!lc) {
      head.push(`-N ${tc.name}`);
      for (const r of tc.rules) body.push(line(tc.name, r, counters));
      w.created.push(tc.name);
    } else if (!sameRules(lc, tc)) {
      const ops = fewEdits(lc, tc, counters);
      if (ops) {
        body.push(...ops);
        w.edited.push(tc.name);
      } else {
        head.push(`-F ${tc.name}`);
        for (const r of tc.rules) body.push(line(tc.name, r, counters));
        w.rewritten.push(tc.name);
      }
    }
  }
  for (const lc of lt ? chainsInSaveOrder(lt) : []) {
    if (lc.builtin || owned.has(lc.name) || tt.chains.has(lc.name)) continue;
    head.push(`-F ${lc.name}`);
    tail.push(`-X ${lc.name}`);
    w.deleted.push(lc.name);
  }
  if (head.length + body.length + tail.length === 0) return undefined;
  w.input = [`*${tt.name}`, ...head, ...body, ...tail, 'COMMIT', ''].join('\n');
  return w;
}

/**
 * A user chain where a few rules change (a 1% change spread over a large ruleset touches
 * most chains): delete and insert just those. Undefined when a flush and refill is simpler.
 */
function fewEdits(lc: Chain, tc: Chain, counters: boolean): string[] | undefined {
  const limit = Math.max(8, tc.rules.length / 4);
  const swapped = lc.rules.length === tc.rules.length ? substitutions(lc, tc, limit, counters) : undefined;
  if (swapped) return swapped;
  if (surelyMany(lc, tc, limit)) return undefined;
  const runs = diffLines(lc.rules.map((r) => r.text), tc.rules.map((r) => r.text));
  const edits = runs.filter((r) => r.op !== ' ').reduce((n, r) => n + r.lines.length, 0);
  if (edits > limit) return undefined;
  // Every rule here is the user's: positions follow from the runs alone (what minimalEdit
  // would simulate rule by rule). A rule whose text is not unique is deleted by number: by
  // specification iptables would take the first rule of that text, maybe another one.
  const ops: string[] = [];
  let at = 0; // rules now before the next change
  let next = 0; // the target rule the next kept or inserted line is (for its counters)
  for (const run of runs) {
    if (run.op === ' ') (at += run.lines.length), (next += run.lines.length);
    else if (run.op === '-') for (const text of run.lines) ops.push(ambiguous(text, lc, tc) ? `-D ${tc.name} ${at + 1}` : `-D ${tc.name}${text === '' ? '' : ' ' + text}`);
    else for (const text of run.lines) ops.push(`${ctr(tc.rules[next++], counters)}-I ${tc.name} ${++at}${text === '' ? '' : ' ' + text}`);
  }
  return ops;
}

/**
 * The usual small edit — a few rules changed in place, each between unchanged neighbours —
 * read straight off the two chains, without a diff: delete the old rule, insert the new one
 * at its position (what the diff's runs give). Undefined for anything else.
 */
function substitutions(lc: Chain, tc: Chain, limit: number, counters: boolean): string[] | undefined {
  const ops: string[] = [];
  let last = -2;
  for (let i = 0; i < lc.rules.length; i++) {
    const from = lc.rules[i].text;
    const to = tc.rules[i].text;
    if (from === to) continue;
    if (i === last + 1 || ops.length + 2 > limit) return undefined; // a run of changes, or many: the diff knows better
    last = i;
    ops.push(ambiguous(from, lc, tc) ? `-D ${tc.name} ${i + 1}` : `-D ${tc.name}${spec(lc.rules[i])}`, `${ctr(tc.rules[i], counters)}-I ${tc.name} ${i + 1}${spec(tc.rules[i])}`);
  }
  return ops;
}

/** More edits than `limit` whatever the diff finds: rules only one side has must each be deleted or inserted. */
function surelyMany(lc: Chain, tc: Chain, limit: number): boolean {
  const onlyIn = (a: Chain, b: Chain) => {
    const other = new Set(b.rules.map((r) => r.text));
    return a.rules.reduce((n, r) => (other.has(r.text) ? n : n + 1), 0);
  };
  return onlyIn(lc, tc) + onlyIn(tc, lc) > limit;
}

/**
 * Could `-D CHAIN spec` of this text delete another rule than the one meant? Unless the live
 * chain has it once and the target not at all, a rule of the same text may stand before it.
 */
function ambiguous(text: string, lc: Chain, tc: Chain): boolean {
  let n = 0;
  for (const r of lc.rules) if (r.text === text && ++n > 1) return true;
  return tc.rules.some((r) => r.text === text);
}

/** Edit a built-in chain: surgical where owned rules live, flush + refill otherwise. */
function builtinEdit(lc: Chain | undefined, tc: Chain, own: Ownership, head: string[], body: string[], w: TableWrite, counters: boolean): void {
  const live = lc?.rules ?? [];
  const liveUser = live.filter((r) => !own.isOwnedRule(r));
  const hasOwned = liveUser.length < live.length;
  const firstUser = tc.rules.findIndex((r) => !own.isOwnedRule(r));
  const targetUser = tc.rules.filter((r) => !own.isOwnedRule(r));
  if (!hasOwned && !tc.rules.some((r) => own.isOwnedRule(r)) && liveUser.length > SURGICAL_LIMIT) {
    head.push(`-F ${tc.name}`);
    for (const r of tc.rules) body.push(line(tc.name, r, counters));
    w.rewritten.push(tc.name);
    return;
  }
  // The user's block in the target starts after the owned rules placed above it.
  const leading = firstUser < 0 ? tc.rules.length : firstUser;
  let ops = nothingOwnedAfter(live, own) && nothingOwnedAfter(tc.rules, own) ? tailRewrite(liveUser, targetUser, tc, counters) : undefined;
  ops ??= minimalEdit(live, liveUser, targetUser, leading, tc, own, counters);
  if (!ops) ops = replaceBlock(liveUser, targetUser, leading, tc, counters);
  body.push(...ops);
  w.edited.push(tc.name);
}

/**
 * Delete the live user rules the target drops and insert the ones it adds, keeping the user
 * rules that stay. Undefined when that would not give the target's order (user rules out
 * of place relative to owned ones): then the whole block is replaced.
 */
function minimalEdit(
  live: Rule[], liveUser: Rule[], targetUser: Rule[], leading: number, tc: Chain, own: Ownership, counters: boolean,
  runs = diffLines(liveUser.map((r) => r.text), targetUser.map((r) => r.text)),
): string[] | undefined {
  // a deletion by specification must not be able to take another rule of the same text
  for (const run of runs) if (run.op === '-' && run.lines.some((t) => ambiguous(t, { ...tc, rules: live }, tc))) return undefined;
  const ops: string[] = [];
  // Simulate the chain: live rules, then each deletion and insertion in turn.
  const chain = live.map((r) => ({ text: r.text, owned: own.isOwnedRule(r) }));
  const userEntries = chain.filter((e) => !e.owned); // the live user rules, by identity
  let k = 0;
  let j = 0; // the target user rule a kept or inserted line stands for
  let lastUserPos = -1; // where the last kept or inserted user rule now stands
  for (const run of runs) {
    for (const text of run.lines) {
      if (run.op === '-') {
        chain.splice(chain.indexOf(userEntries[k++]), 1);
        ops.push(`-D ${tc.name}${text === '' ? '' : ' ' + text}`);
        if (lastUserPos >= chain.length) lastUserPos = chain.length - 1;
      } else if (run.op === ' ') {
        lastUserPos = chain.indexOf(userEntries[k++]);
        j++;
      } else {
        const pos = lastUserPos >= 0 ? lastUserPos + 1 : Math.min(leading, chain.length);
        chain.splice(pos, 0, { text, owned: false });
        ops.push(`${ctr(targetUser[j++], counters)}-I ${tc.name} ${pos + 1}${text === '' ? '' : ' ' + text}`);
        lastUserPos = pos;
      }
    }
  }
  const ok = chain.length === tc.rules.length && chain.every((r, i) => r.text === tc.rules[i].text);
  return ok ? ops : undefined;
}

/** True when no owned rule stands after the chain's last user rule (Docker only inserts there). */
function nothingOwnedAfter(rules: Rule[], own: Ownership): boolean {
  let lastUser = -1;
  rules.forEach((r, i) => {
    if (!own.isOwnedRule(r)) lastUser = i;
  });
  // no user rule at all: the (empty) block is at the end
  return lastUser < 0 || rules.slice(lastUser + 1).every((r) => !own.isOwnedRule(r));
}

/**
 * Where the user's block ends the chain (FORWARD: Docker inserts its rules at the top), edit
 * without positions: delete the live block's changed tail by specification and append the
 * target's tail with -A. Docker inserting or deleting at the top meanwhile then cannot
 * misplace anything. Undefined when a rule of the tail has the same text as one kept above it
 * (a deletion by specification would take the wrong one) or the tail is large.
 */
function tailRewrite(liveUser: Rule[], targetUser: Rule[], tc: Chain, counters: boolean): string[] | undefined {
  let p = 0;
  while (p < liveUser.length && p < targetUser.length && liveUser[p].text === targetUser[p].text) p++;
  const kept = new Set(liveUser.slice(0, p).map((r) => r.text));
  const gone = liveUser.slice(p);
  if (gone.length + targetUser.length - p > SURGICAL_LIMIT || gone.some((r) => kept.has(r.text))) return undefined;
  return [...gone.map((r) => `-D ${tc.name}${spec(r)}`), ...targetUser.slice(p).map((r) => line(tc.name, r, counters))];
}

/** Delete every live user rule and insert the target's user block after the leading owned rules. */
function replaceBlock(liveUser: Rule[], targetUser: Rule[], leading: number, tc: Chain, counters: boolean): string[] {
  const ops = liveUser.map((r) => `-D ${tc.name}${spec(r)}`);
  targetUser.forEach((r, i) => ops.push(`${ctr(r, counters)}-I ${tc.name} ${leading + i + 1}${spec(r)}`));
  return ops;
}
