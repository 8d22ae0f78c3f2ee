// `rollback [SNAPSHOT]`: put back a snapshot's user-owned parts (default: the newest),
// merged with the current Docker rules, as a transaction of its own (itself snapshotted);
// with --confirm, undone in turn unless confirmed in time (transact.ts).
import { checkStateDir } from '../io/state.js';
import type { Family } from '../core/model.js';
import type { ExitCode } from '../exit-codes.js';
import type { PipelineOptions } from '../pipeline.js';
import type { Output } from '../ui/output.js';
import { snapshotInputs } from './snapshot-input.js';
import { transact } from './transact.js';

export interface RollbackOptions extends Omit<PipelineOptions, 'family'> {
  snapshot?: string;
  only?: Family;
  stateDir: string;
  lockFile: string;
  lockWait: number;
  keep: number;
  confirm?: string;
  force?: boolean;
}

export async function rollbackCommand(o: RollbackOptions, out: Output): Promise<ExitCode> {
  checkStateDir(o.stateDir); // before saying what we would do: a state directory we cannot write stops it here
  const tx = { stateDir: o.stateDir, lockFile: o.lockFile, lockWait: o.lockWait, keep: o.keep, reason: 'rollback', say: (l: string) => out.warn(l) };
  // under the lock: "the newest snapshot" is the newest once no other run can be taking one
  return transact(o, tx, () => {
    const { id, inputs } = snapshotInputs(o.stateDir, o.snapshot, o, o.only);
    out.note(`rolling back to snapshot ${id}`);
    tx.reason = `rollback to ${id}`;
    return inputs;
  }, 'rollback', out);
}
