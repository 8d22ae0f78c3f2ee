// `history`: journal entries and snapshots, newest first.
import { EXIT, type ExitCode } from '../exit-codes.js';
import { listSnapshots, readInProgress, readJournal, readSnapshotMeta } from '../io/journal.js';
import { readPending } from '../io/pending.js';
import type { Output } from '../ui/output.js';

export function historyCommand(o: { stateDir: string; json?: boolean }, out: Output): ExitCode {
  const entries = readJournal(o.stateDir).reverse();
  const snapshots = listSnapshots(o.stateDir).map((id) => readSnapshotMeta(o.stateDir, id)).filter((m) => m !== undefined);
  const unfinished = readInProgress(o.stateDir);
  const pending = readPending(o.stateDir);
  if (o.json) {
    out.print(JSON.stringify({ unfinished: unfinished ?? null, pending: pending ?? null, journal: entries, snapshots }, null, 2) + '\n');
    return EXIT.OK;
  }
  if (pending) out.print(`AWAITING CONFIRMATION: the change applied ${pending.appliedAt} is rolled back to snapshot ${pending.snapshot} at ${pending.deadline} unless confirmed (see 'confirm --status')\n\n`);
  if (unfinished) out.print(`UNFINISHED: apply started ${unfinished.time} by pid ${unfinished.pid} (snapshot ${unfinished.snapshot}); run 'recover'\n\n`);
  out.print('Journal (newest first):\n');
  if (entries.length === 0) out.print('  (empty)\n');
  for (const e of entries) {
    out.print(`  ${e.time}  ${e.result.padEnd(15)} ${e.families.join('+').padEnd(9)} ${e.user}  ${e.file ?? ''}\n`);
    if (e.summary) out.print(`      ${e.summary}\n`);
    for (const err of e.errors ?? []) out.print(`      error: ${err}\n`);
    if (e.snapshot) out.print(`      snapshot ${e.snapshot}\n`);
  }
  out.print('\nSnapshots (newest first; rollback SNAPSHOT restores one):\n');
  if (snapshots.length === 0) out.print('  (none)\n');
  for (const m of snapshots) {
    const fams = Object.entries(m.families).map(([f, i]) => `${f}: ${i!.tables.join(',')} (${i!.backend})`).join('; ');
    out.print(`  ${m.id}  ${m.time}  ${m.reason}  ${fams}\n`);
  }
  return EXIT.OK;
}
