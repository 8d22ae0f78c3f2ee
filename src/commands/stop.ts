// `stop [-t TABLE]`: what `service iptables stop` should do on a Docker host. The stock script
// sets every built-in policy to ACCEPT and runs -F, -X, -Z on every table, which destroys
// Docker's chains. Here the target is "no rules of yours": every built-in policy ACCEPT, the
// user's rules gone from built-in and user chains, the user's chains deleted — Docker's
// chains and its rules in built-in chains (and other preserved owners') kept, DOCKER-USER
// with its contents (it holds the rules that guard the containers; `stop` opens the host).
// Counters are not zeroed (that would touch Docker's). It runs as a transaction: snapshot,
// verify, rollback. Exit 0 when stopped or already stopped.
import { isTableName, newRuleset, newTable, type TableName } from '../core/model.js';
import { writeRuleset } from '../core/write.js';
import { UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { readLive } from '../io/live.js';
import { withLock } from '../io/lock.js';
import { runTransaction } from '../apply/transaction.js';
import type { PipelineOptions } from '../pipeline.js';
import type { Output } from '../ui/output.js';
import { report } from '../ui/outcome.js';
import { pendingGuard } from './transact.js';

export interface StopOptions extends Omit<PipelineOptions, 'file'> {
  table?: string;
  stateDir: string;
  lockFile: string;
  lockWait: number;
  keep: number;
}

export async function stopCommand(o: StopOptions, out: Output): Promise<ExitCode> {
  if (o.table !== undefined && !isTableName(o.table)) throw new UsageError(`-t: unknown table '${o.table}' (raw, mangle, filter, nat or security)`);
  // which tables to open is decided from the live ruleset: read it holding the lock
  return withLock(o.lockFile, o.lockWait, () => stopLocked(o, out));
}

async function stopLocked(o: StopOptions, out: Output): Promise<ExitCode> {
  const live = await readLive({ family: o.family, backend: o.backend, netns: o.netns });
  const tables = [...live.ruleset.tables.keys()].filter((t) => o.table === undefined || t === o.table);
  if (tables.length === 0) {
    out.result(o.table ? `nothing to stop: table ${o.table} is not loaded` : 'nothing to stop: no table is loaded');
    return EXIT.OK;
  }
  const say = (l: string) => out.warn(l);
  const pending = await pendingGuard({ stateDir: o.stateDir, lockWait: o.lockWait, say }, { force: o.force, what: 'stop' }, out);
  if (pending.failed !== undefined) return pending.failed;
  const outcome = await runTransaction({
    inputs: [{ ...o, canonical: 'auto', inputText: { name: 'stop (every built-in policy ACCEPT, none of your rules)', text: openRuleset(o.family, tables), tables } }],
    stateDir: o.stateDir, lockFile: o.lockFile, lockWait: o.lockWait, keep: o.keep, reason: 'stop', say, guard: pending.guard,
  });
  if (outcome.result === 'nothing-to-do') {
    out.result(`already stopped: ${tables.join(', ')} hold no rules of yours and every built-in policy is ACCEPT`);
    return EXIT.OK;
  }
  if (outcome.result === 'applied') {
    out.result(`stopped: ${outcome.summary} (snapshot ${outcome.snapshot}; Docker's chains and rules kept)`);
    return EXIT.OK;
  }
  return report(outcome, out);
}

/** The tables with every built-in chain's policy ACCEPT and nothing else, in restore format. */
function openRuleset(family: PipelineOptions['family'], tables: TableName[]): string {
  const rs = newRuleset(family);
  for (const name of tables) {
    const t = newTable(name);
    for (const c of t.chains.values()) c.policy = 'ACCEPT';
    rs.tables.set(name, t);
  }
  return writeRuleset(rs);
}
