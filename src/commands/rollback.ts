// `rollback [SNAPSHOT]`: put back a snapshot's user-owned parts (default: the newest),
// merged with the current Docker rules, as a transaction of its own (itself snapshotted).
import type { Family } from '../core/model.js';
import type { ExitCode } from '../exit-codes.js';
import { runTransaction } from '../apply/transaction.js';
import type { PipelineOptions } from '../pipeline.js';
import type { Output } from '../ui/output.js';
import { report } from './apply.js';
import { snapshotInputs } from './snapshot-input.js';

export interface RollbackOptions extends Omit<PipelineOptions, 'family'> {
  snapshot?: string;
  only?: Family;
  stateDir: string;
  lockFile: string;
  lockWait: number;
  keep: number;
}

export async function rollbackCommand(o: RollbackOptions, out: Output): Promise<ExitCode> {
  const { id, inputs } = snapshotInputs(o.stateDir, o.snapshot, o, o.only);
  out.note(`rolling back to snapshot ${id}`);
  const outcome = await runTransaction({ inputs, stateDir: o.stateDir, lockFile: o.lockFile, lockWait: o.lockWait, keep: o.keep, reason: `rollback to ${id}`, say: (l) => out.warn(l) });
  return report(outcome, out);
}
