// A snapshot as transaction inputs: its user-owned parts become the "file" to apply, merged
// with whatever Docker (and other owners) hold now — never a stale copy of Docker's chains.
import type { Family, TableName } from '../core/model.js';
import { UserError } from '../errors.js';
import { listSnapshots, readSnapshot, readSnapshotMeta, snapshotPath } from '../io/journal.js';
import type { FamilyInput } from '../apply/transaction.js';
import type { PipelineOptions } from '../pipeline.js';

export function snapshotInputs(stateDir: string, id: string | undefined, base: Omit<PipelineOptions, 'family'>, only?: Family): { id: string; inputs: FamilyInput[] } {
  const snap = id ?? listSnapshots(stateDir)[0];
  if (!snap) throw new UserError(`no snapshots in ${stateDir}`);
  const meta = readSnapshotMeta(stateDir, snap);
  if (!meta) throw new UserError(`no snapshot '${snap}' in ${stateDir} (see 'history')`);
  const inputs: FamilyInput[] = [];
  for (const [family, info] of Object.entries(meta.families) as Array<[Family, { backend: string; tables: TableName[] }]>) {
    if (only && family !== only) continue;
    const text = readSnapshot(stateDir, snap, family);
    if (text === undefined) throw new UserError(`snapshot ${snap} lacks its ${family} ruleset`);
    inputs.push({
      ...base, family, backend: info.backend as 'nft' | 'legacy', canonical: 'auto',
      inputText: { name: snapshotPath(stateDir, snap, family), text: text.trim() ? text : tablesOnly(info.tables), tables: info.tables },
    });
  }
  if (inputs.length === 0) throw new UserError(`snapshot ${snap} has no ${only ?? ''} rules`);
  return { id: snap, inputs };
}

/** A snapshot of an empty ruleset: the tables, with nothing in them. */
function tablesOnly(tables: TableName[]): string {
  return tables.map((t) => `*${t}\nCOMMIT\n`).join('');
}
