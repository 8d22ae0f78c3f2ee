// One apply, as a transaction across tables and address families:
//
//   lock → plan each family → nothing to do? done
//        → validate (our checks, then iptables-restore --noflush --test) → snapshot → journal
//          "in progress" → write table by table (--noflush, only what the user owns)
//        → verify: read back, re-merge with whatever Docker holds now, re-apply if Docker
//          moved meanwhile (bounded) → journal the outcome
//
// Any failure after the first write (a table refused, the other family failing, a
// verification that does not converge, a signal) rolls back: the snapshot's user-owned parts
// are merged with the *current* Docker rules and written through the same minimal path, then
// verified. If that fails too, we say so loudly, with the snapshot and the command to restore
// it by hand, and leave the "in progress" mark for `recover`.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { newTable, type Family, type Rule, type Ruleset, type TableName } from '../core/model.js';
import { isKnownTarget } from '../core/targets.js';
import { parseRuleset } from '../core/parse.js';
import { classify, USER, type Classification } from '../core/classify.js';
import { strip, type StripResult } from '../core/strip.js';
import { merge } from '../core/merge.js';
import { learnDockerFacts } from '../core/facts.js';
import { restoreInputs, type Ownership, type TableWrite } from '../core/restore-input.js';
import type { OwnerProfile } from '../core/owners/index.js';
import { SystemError, UserError } from '../errors.js';
import { restore, saveDiffers, type Backend, type RestoreOptions } from '../io/iptables.js';
import { readLive } from '../io/live.js';
import { acquireLock, type Lock } from '../io/lock.js';
import {
  appendJournal, clearInProgress, currentUser, markInProgress, pruneSnapshots, readInProgress, readSnapshot, snapshotPath, writeSnapshot,
  type JournalEntry, type SnapshotMeta,
} from '../io/journal.js';
import { checkStateDir } from '../io/state.js';
import { ruleLine } from '../core/write.js';
import { buildTarget, type PipelineOptions } from '../pipeline.js';
import { fault } from './faults.js';

export interface FamilyInput extends PipelineOptions {
  family: Family;
}

export interface TransactionOptions {
  inputs: FamilyInput[];
  stateDir: string;
  lockFile: string;
  lockWait: number;
  keep: number;
  /** How many times to re-merge and re-apply when Docker changed its rules meanwhile. */
  maxAttempts?: number;
  reason?: string;
  /** Leave a run that had nothing to do out of the journal (reconcile, every few minutes). */
  quietWhenNothingToDo?: boolean;
  /** recover: the unfinished apply being undone (its mark is replaced by ours). */
  resuming?: boolean;
  now?: () => Date;
  /** Say what is happening (stderr). */
  say: (line: string) => void;
  /** Under the lock, before anything is read: refuse, or settle what stands in the way (a pending confirmation). */
  guard?: () => Promise<void>;
  /**
   * Under the lock, once the writes are verified: arm what must watch them (the confirmation
   * watchdog, apply/confirm.ts). Throwing rolls the writes back. Returns fields for the journal.
   */
  onApplied?: (snapshot: string) => Promise<Partial<JournalEntry> | void>;
  /**
   * Not stopped by SIGINT/SIGTERM/SIGHUP (the confirm watchdog's rollback: it handles them
   * itself, and a shutdown must not leave the unconfirmed change half undone).
   */
  uninterruptible?: boolean;
  /** Undo what onApplied armed, when the writes are rolled back after it ran (a signal). */
  disarm?: () => void;
  /** Under the lock, with the outcome: record what follows from it (a pending confirmation settled). */
  settle?: (outcome: Outcome) => void;
}

export type Outcome =
  | { result: 'nothing-to-do' }
  | { result: 'applied'; snapshot: string; summary: string; attempts: number; repairs?: string[] }
  | { result: 'rolled-back'; snapshot: string; error: string }
  | { result: 'rollback-failed'; snapshot: string; error: string; rollbackError: string; restoreCommands: string[] };

/** What we know about one family while applying it. */
interface Work {
  input: FamilyInput;
  backend: Backend;
  profiles: OwnerProfile[];
  user: StripResult;
  tables: TableName[];
  target: Ruleset;
  /** The live text, until the snapshot holds it (then dropped: rollback reads the snapshot). */
  liveText?: () => readonly string[];
  writes: TableWrite[];
  /** sha256 of the user's file as read (for the journal). */
  fileDigest: string;
  /** What the owned (Docker's, …) chains and rules were when we planned: did they move meanwhile? */
  ownedDigest: string;
}

export class VerifyError extends SystemError {}

export async function runTransaction(o: TransactionOptions): Promise<Outcome> {
  const now = o.now ?? (() => new Date());
  // Every state path is checked before the first write of any kind (caches included).
  checkStateDir(o.stateDir);
  const lock: Lock = await acquireLock(o.lockFile, o.lockWait, now);
  // From here on a signal is ours to handle: before the first write it stops the run (nothing
  // changed), after it the writes are rolled back; either way we say which.
  const interrupted = o.uninterruptible ? uninterrupted() : trapSignals();
  try {
    // Checked under the lock: a mark we find while holding it was left by a run that died.
    const unfinished = readInProgress(o.stateDir);
    if (unfinished && !o.resuming) {
      throw new UserError(
        `an earlier apply did not finish (started ${unfinished.time} by pid ${unfinished.pid}, snapshot ${unfinished.snapshot}): ` +
          `run 'iptables-safe-restore recover' to restore that snapshot first`,
      );
    }
    await o.guard?.();
    let outcome: Outcome;
    try {
      outcome = await underLock(o, now, interrupted);
    } catch (e) {
      // a signal that stopped the run before its first write (a later one rolls back instead)
      if (interrupted.got() && !interrupted.acted()) {
        interrupted.acted(true);
        throw new SystemError(`interrupted by ${interrupted.got()} before anything was written: nothing was changed`);
      }
      throw e;
    }
    o.settle?.(outcome);
    return outcome;
  } finally {
    await lock.release();
    interrupted.release();
    const late = interrupted.got();
    if (late && !interrupted.acted()) o.say(`${late} arrived after the outcome was recorded: it stands as reported below`);
  }
}

async function underLock(o: TransactionOptions, now: () => Date, interrupted: Interrupt): Promise<Outcome> {
  const works: Work[] = [];
  for (const input of o.inputs) {
    works.push(await prepare(input, o.say));
    interrupted.check();
  }
  if (works.every((w) => w.writes.length === 0)) {
    if (!o.quietWhenNothingToDo) journal(o, now, 'nothing-to-do', works, undefined, 'the live ruleset already matches');
    if (o.resuming) clearMark(o);
    return { result: 'nothing-to-do' };
  }
  for (const w of works) await validate(w);
  interrupted.check();

  const id = snapshotId(now());
  const meta: SnapshotMeta = { id, time: now().toISOString(), reason: o.reason ?? 'apply', families: {} };
  for (const w of works) meta.families[w.input.family] = { backend: w.backend, tables: w.tables };
  writeSnapshot(o.stateDir, meta, Object.fromEntries(works.map((w) => [w.input.family, w.liveText!()])));
  for (const w of works) delete w.liveText; // 100k rules' text need not stay in memory while we write and verify
  pruneSnapshots(o.stateDir, o.keep, [id]);
  markInProgress(o.stateDir, entry(now, 'in-progress', works, id));
  await fault('after-snapshot');

  let wrote = false;
  let armed = false;
  let attempts = 0;
  const repairs = new Set<string>();
  let extra: Partial<JournalEntry> = {};
  try {
    for (const w of works) {
      for (const t of w.writes) {
        interrupted.check();
        await fault(`before-write:${w.input.family}:${t.table}`);
        wrote = true;
        await restore(t.input, toolOptions(w));
        await fault(`after-write:${w.input.family}:${t.table}`);
      }
    }
    interrupted.check();
    await fault('before-verify');
    for (const w of works) attempts = Math.max(attempts, await verify(w, o.maxAttempts ?? 8, interrupted.check, w.target, repairs));
    await fault('after-verify');
    interrupted.check();
    extra = (await o.onApplied?.(id)) ?? {};
    armed = o.onApplied !== undefined;
    // The last moment a signal rolls back: from here to the journal's "applied" nothing awaits,
    // so a signal that arrives now is handled after the outcome is recorded (and said so).
    interrupted.check();
  } catch (err) {
    const error = message(err);
    if (!wrote) {
      clearMark(o);
      throw err;
    }
    if (interrupted.got()) interrupted.acted(true);
    if (armed) o.disarm?.();
    o.say(`apply failed: ${error}; rolling back to snapshot ${id}`);
    try {
      for (const w of works) await rollbackFamily(w, o.stateDir, id);
      journal(o, now, 'rolled-back', works, id, undefined, [error]);
      clearMark(o);
      return { result: 'rolled-back', snapshot: id, error };
    } catch (rbErr) {
      const rollbackError = message(rbErr);
      journal(o, now, 'rollback-failed', works, id, undefined, [error, rollbackError]);
      return { result: 'rollback-failed', snapshot: id, error, rollbackError, restoreCommands: restoreCommands(o.stateDir, id, works) };
    }
  }
  // Verified: from here on nothing undoes it. A journal that cannot be written costs the record
  // of this run (said loudly), not the run itself.
  const summary = works.map((w) => summarize(w)).join('; ');
  journal(o, now, 'applied', works, id, summary, undefined, extra);
  clearMark(o);
  return { result: 'applied', snapshot: id, summary, attempts, repairs: [...repairs] };
}

/**
 * Check what would be written, as `apply` does before its first write, and write nothing:
 * no lock, no snapshot, no journal (the twin's --test). Returns what would change.
 */
export async function validateOnly(inputs: FamilyInput[], say: (line: string) => void): Promise<{ changes: boolean; summary: string }> {
  const works: Work[] = [];
  for (const input of inputs) works.push(await prepare(input, say));
  for (const w of works) await validate(w);
  return { changes: works.some((w) => w.writes.length > 0), summary: works.map((w) => summarize(w)).join('; ') };
}

/** How iptables-restore is run for this family: --noflush always, and the user's -w/-W/-M/-c. */
function toolOptions(w: Work, extra: Partial<RestoreOptions> = {}): RestoreOptions {
  const i = w.input;
  return { family: i.family, backend: w.backend, netns: i.netns, noflush: true, wait: i.wait, waitInterval: i.waitInterval, modprobe: i.modprobe, counters: i.counters, ...extra };
}

/** Build the target of one family and the writes that reach it. */
async function prepare(input: FamilyInput, say: (line: string) => void): Promise<Work> {
  // a saved ruleset is not what the kernel holds: writes computed against it would be wrong
  // (as root the canonical form's backend would otherwise let it through, to the host's kernel)
  if (input.liveFrom) throw new UserError('apply needs the live ruleset from the kernel (not --live-from)');
  const p = await buildTarget({ ...input, canonical: input.canonical ?? 'auto' });
  if (p.input.unsafe) say(`warning: ${p.input.name}: ${p.input.unsafe}; anyone who can write it controls your firewall (read because of --force)`);
  if (p.canonical?.method === 'lexical' && p.canonical.uncertain.length) {
    const u = p.canonical.uncertain[0];
    throw new UserError(`cannot apply without the kernel's canonical form (${p.canonical.fallback ?? 'lexical mode'}): line ${u.line ?? '?'}: ${u.reason}`);
  }
  const backend = p.live.backend ?? p.canonical?.backend;
  const live = p.live;
  if (!backend) throw new UserError('apply needs the live ruleset from the kernel (not --live-from)');
  const writes = restoreInputs(p.live.ruleset, p.merged.target, ownership(p.liveClass), { counters: input.counters });
  return {
    input, backend, profiles: p.profiles, user: p.stripped, tables: [...p.merged.target.tables.keys()], target: p.merged.target, liveText: () => live.textParts(), writes,
    fileDigest: p.input.digest, ownedDigest: ownedDigest(p.live.ruleset, ownership(p.liveClass)),
  };
}

/** The chains and rules of `live` that the user does not own. */
export function ownership(cls: Classification): Ownership {
  const chains = new Map<TableName, Set<string>>();
  for (const [table, verdicts] of cls.chains) {
    chains.set(table, new Set([...verdicts].filter(([, v]) => v.owner !== USER && !v.userContent).map(([name]) => name)));
  }
  return {
    ownedChains: (t) => chains.get(t) ?? new Set(),
    isOwnedRule: (r: Rule) => {
      const v = cls.rules.get(r);
      return v !== undefined && v.owner !== USER;
    },
  };
}

/** A digest of what `owns` says is not the user's in `rs`: its owned chains and rules, in order. */
function ownedDigest(rs: Ruleset, owns: Ownership): string {
  const h = createHash('sha256');
  for (const t of rs.tables.values()) {
    const chains = owns.ownedChains(t.name);
    for (const c of t.chains.values()) {
      if (chains.has(c.name)) h.update(`:${t.name} ${c.name}\n`);
      for (const r of c.rules) if (owns.isOwnedRule(r)) h.update(`${t.name} ${ruleLine(r, false)}\n`);
    }
  }
  return h.digest('hex');
}

/**
 * Our checks on the target, then iptables' own (--test) on what we would write, before
 * anything is written. nft's --noflush --test accepts a jump to a missing chain, so the
 * first check is ours: every jump resolves to a chain the table will have, or a target.
 */
async function validate(w: Work): Promise<void> {
  for (const table of w.target.tables.values()) {
    for (const chain of table.chains.values()) {
      for (const r of chain.rules) {
        const to = r.target?.name;
        if (to === undefined || table.chains.has(to) || isKnownTarget(to, w.input.family)) continue;
        const where = r.source ? ` (${r.source.file}:${r.source.line})` : '';
        throw new UserError(`${table.name}/${chain.name}: a rule jumps to chain ${to}, which would not exist${where}: nothing was changed`);
      }
    }
  }
  for (const t of w.writes) {
    try {
      await restore(t.input, toolOptions(w, { test: true }));
    } catch (e) {
      throw new UserError(`iptables-restore --test refused the ${w.input.family} ${t.table} changes: ${message(e)}: nothing was changed`);
    }
  }
}

/**
 * Read back and compare with the target re-merged with the current owned rules; if Docker
 * changed its rules meanwhile (a container started), write the difference again. Returns
 * the number of rounds it took.
 */
async function verify(w: Work, maxAttempts: number, check: () => void, written?: Ruleset, repairs?: Set<string>): Promise<number> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    check();
    // Usually the kernel now prints exactly what was written: a comparison of text as it
    // streams settles it, without a parse or a third ruleset in memory. Any difference
    // (Docker moved meanwhile) takes the full way below.
    if (attempt === 1 && written && (await saveDiffers({ family: w.input.family, backend: w.backend, netns: w.input.netns }, written)) === undefined) return 1;
    const live = await readLive({ family: w.input.family, backend: w.backend, netns: w.input.netns });
    const facts = learnDockerFacts({ live: [live.ruleset], files: [w.user.ruleset] });
    const liveCls = classify(live.ruleset, w.profiles, facts);
    const target = merge(w.user, live.ruleset, liveCls, facts).target;
    const owns = ownership(liveCls);
    const writes = restoreInputs(live.ruleset, target, owns, { counters: w.input.counters });
    if (writes.length === 0) return attempt;
    // Why the kernel differs: Docker's (the owners') part moved, or what we wrote did not all arrive.
    repairs?.add(ownedDigest(live.ruleset, owns) === w.ownedDigest ? 'the kernel held only part of what was written; wrote the rest' : 'Docker changed its rules meanwhile');
    if (attempt === maxAttempts) break;
    // Docker is changing its rules right now (containers starting): let the burst settle.
    if (attempt > 1) await new Promise((r) => setTimeout(r, 25 * attempt));
    for (const t of writes) await restore(t.input, toolOptions(w));
  }
  throw new VerifyError(`${w.input.family}: the live ruleset still differs from the target after ${maxAttempts} rounds (is something else rewriting the user's chains?)`);
}

/** Put back the snapshot's user-owned parts, merged with the owned rules live now. */
async function rollbackFamily(w: Work, stateDir: string, id: string): Promise<void> {
  await fault('during-rollback');
  const file = snapshotPath(stateDir, id, w.input.family);
  const text = readSnapshot(stateDir, id, w.input.family);
  if (text === undefined) throw new SystemError(`snapshot ${file} is gone: cannot roll back`);
  const snap = parseRuleset(text, { file, family: w.input.family, trusted: true }).ruleset;
  for (const t of [...snap.tables.keys()]) if (!w.tables.includes(t)) snap.tables.delete(t);
  for (const t of w.tables) if (!snap.tables.has(t)) snap.tables.set(t, newTable(t));
  const live = await readLive({ family: w.input.family, backend: w.backend, netns: w.input.netns });
  const facts = learnDockerFacts({ live: [live.ruleset], files: [snap] });
  const user = strip(snap, classify(snap, w.profiles, facts));
  await verify({ ...w, user }, 8, () => {});
}

function restoreCommands(stateDir: string, id: string, works: Work[]): string[] {
  return works.map((w) => `${w.input.family === 'ipv4' ? 'iptables' : 'ip6tables'}-safe-restore rollback ${id} --state-dir ${stateDir}` +
    `   # or, bypassing this tool: ${w.input.family === 'ipv4' ? 'iptables' : 'ip6tables'}-${w.backend}-restore ${snapshotPath(stateDir, id, w.input.family)}`);
}

function summarize(w: Work): string {
  const n = (xs: string[], what: string) => (xs.length ? [`${what} ${xs.join(',')}`] : []);
  const parts = w.writes.flatMap((t) => [
    ...n(t.created, `${t.table}: created`), ...n(t.rewritten, `${t.table}: rewrote`), ...n(t.edited, `${t.table}: edited`),
    ...n(t.deleted, `${t.table}: deleted`), ...t.policies.map((p) => `${t.table}: policy ${p.chain} ${p.policy}`),
  ]);
  return `${w.input.family}: ${parts.join('; ') || 'no changes'}`;
}

function snapshotId(d: Date): string {
  return `${d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${process.pid}`;
}

function entry(now: () => Date, result: JournalEntry['result'], works: Work[], snapshot?: string, summary?: string, errors?: string[]): JournalEntry {
  const file = works.map((w) => w.input.inputText?.name ?? w.input.file ?? '<stdin>').join(' ');
  return {
    time: now().toISOString(), id: snapshot ?? snapshotId(now()), result, user: currentUser(),
    pid: process.pid, command: process.argv.slice(1).join(' '), file, fileDigest: works.map((w) => w.fileDigest).join(' '), families: works.map((w) => w.input.family),
    ...(snapshot ? { snapshot } : {}), ...(summary ? { summary } : {}), ...(errors ? { errors } : {}),
  };
}

/**
 * Append to the journal; a journal that cannot be written (a full disk, a symlink planted at
 * it) is said loudly and does not change the outcome: the kernel holds what the outcome says.
 */
function journal(o: TransactionOptions, now: () => Date, result: JournalEntry['result'], works: Work[], snapshot?: string, summary?: string, errors?: string[], extra: Partial<JournalEntry> = {}): void {
  try {
    appendJournal(o.stateDir, { ...entry(now, result, works, snapshot, summary, errors), ...extra });
  } catch (e) {
    o.say(`warning: the journal ${join(o.stateDir, 'journal.jsonl')} could not be written (${errnoOf(e)}): this run's outcome (${result}) is not recorded there`);
  }
}

/** Remove the "in progress" mark; one that cannot be removed is said (the next run would ask for recover). */
function clearMark(o: TransactionOptions): void {
  try {
    clearInProgress(o.stateDir);
  } catch (e) {
    o.say(`warning: ${join(o.stateDir, 'in-progress.json')} could not be removed (${errnoOf(e)}): remove it by hand, the run did finish`);
  }
}

function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

interface Interrupt {
  /** Throw if a signal arrived. */
  check: () => void;
  /** The signal that arrived, if any. */
  got: () => string | undefined;
  /** Whether the run acted on it (rolled back or stopped); `acted(true)` says it did. */
  acted: (set?: boolean) => boolean;
  release: () => void;
}

function uninterrupted(): Interrupt {
  return { check: () => {}, got: () => undefined, acted: () => false, release: () => {} };
}

/** SIGINT/SIGTERM/SIGHUP from taking the lock to the outcome: finish the current step, then stop or roll back. */
function trapSignals(): Interrupt {
  let got: string | undefined;
  let acted = false;
  const handler = (sig: NodeJS.Signals) => void (got ??= sig);
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, handler);
  return {
    check: () => {
      if (got) throw new SystemError(`interrupted by ${got}`);
    },
    got: () => got,
    acted: (set) => (acted ||= set === true),
    release: () => {
      for (const s of sigs) process.off(s, handler);
    },
  };
}

function message(e: unknown): string {
  if (e instanceof SystemError && e.detail) return `${e.message}: ${e.detail.split('\n')[0]}`;
  return e instanceof Error ? e.message : String(e);
}
