// `recover` (and `apply --recover`): if an apply died between its first write and its end
// (SIGKILL, power loss), restore the snapshot it took; then, if a change awaiting
// confirmation has lost its watchdog (the host restarted, or it was killed), roll that change
// back too, whatever its deadline. For boot and timers: nothing to do → says so, exits 0.
// What it finds is acted on only as read holding the tool's lock: a mark seen before the lock
// may belong to an apply still running, and restoring its snapshot would undo a finished apply.
import { EXIT, type ExitCode } from '../exit-codes.js';
import { appendJournal, clearInProgress, readInProgress, type JournalEntry } from '../io/journal.js';
import { runTransaction } from '../apply/transaction.js';
import { describe, rollbackOrphan } from '../apply/confirm.js';
import { readPending, watched } from '../io/pending.js';
import { withLock } from '../io/lock.js';
import type { PipelineOptions } from '../pipeline.js';
import type { Output } from '../ui/output.js';
import { report } from '../ui/outcome.js';
import { snapshotInputs } from './snapshot-input.js';

export interface RecoverOptions extends Omit<PipelineOptions, 'family'> {
  stateDir: string;
  lockFile: string;
  lockWait: number;
  keep: number;
  now?: () => Date;
}

export async function recoverCommand(o: RecoverOptions, out: Output): Promise<ExitCode> {
  // nothing there now: nothing to recover, said without the lock (at boot while a run holds it)
  const p = readPending(o.stateDir);
  if (!readInProgress(o.stateDir) && (!p || watched(p))) return recoverFrom(o, out);
  return withLock(o.lockFile, o.lockWait, () => recoverFrom(o, out));
}

async function recoverFrom(o: RecoverOptions, out: Output): Promise<ExitCode> {
  const unfinished = readInProgress(o.stateDir);
  if (unfinished) {
    const code = await recoverUnfinished(unfinished, o, out);
    if (code !== EXIT.OK) return code;
  }
  const orphan = await rollbackOrphan(o.stateDir, { lockWait: o.lockWait, say: (l) => out.warn(l) });
  if (orphan) {
    const code = report(orphan, out);
    return code === EXIT.NOTHING_TO_DO ? EXIT.OK : code;
  }
  const pending = readPending(o.stateDir);
  if (pending) out.note(`${describe(pending)}; its watchdog (pid ${pending.watchdogPid}) is alive: left to it`);
  if (!unfinished) out.result('nothing to recover: no unfinished apply, no unconfirmed change without its watchdog');
  return EXIT.OK;
}

async function recoverUnfinished(unfinished: JournalEntry, o: RecoverOptions, out: Output): Promise<ExitCode> {
  if (!unfinished.snapshot) {
    clearInProgress(o.stateDir);
    out.result('an unfinished apply had not written anything yet: nothing to restore');
    return EXIT.OK;
  }
  out.warn(`an apply started ${unfinished.time} (pid ${unfinished.pid}) did not finish: restoring its snapshot ${unfinished.snapshot}`);
  const { inputs } = snapshotInputs(o.stateDir, unfinished.snapshot, o);
  const outcome = await runTransaction({
    inputs, stateDir: o.stateDir, lockFile: o.lockFile, lockWait: o.lockWait, keep: o.keep, reason: `recover ${unfinished.snapshot}`, resuming: true, say: (l) => out.warn(l),
  });
  const code = report(outcome, out);
  if (code === EXIT.OK || code === EXIT.NOTHING_TO_DO) {
    appendJournal(o.stateDir, { ...unfinished, time: (o.now ?? (() => new Date()))().toISOString(), result: 'recovered', summary: `restored snapshot ${unfinished.snapshot}` });
    return EXIT.OK;
  }
  return code;
}
