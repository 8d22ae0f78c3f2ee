// `save [-c] [-t TABLE] [--out FILE]`: like iptables-save, without what Docker (or another
// preserved owner) owns — what belongs in /etc/sysconfig/iptables or /etc/iptables/rules.v4.
// Printed in iptables-save's format, comment lines included. `--out FILE` replaces FILE
// atomically (0600, never through a symlink), keeping the previous one as FILE.save, as the
// RHEL script does. Restoring the saved file with the twin changes nothing (core/user-part.ts).
import { isTableName } from '../core/model.js';
import { userPart } from '../core/user-part.js';
import { writeRuleset } from '../core/write.js';
import { UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { replaceKeepingPrevious } from '../io/files.js';
import { classifyLive, type PipelineOptions } from '../pipeline.js';
import type { Output } from '../ui/output.js';
import { VERSION } from '../version.js';
import { count } from './common.js';

export interface SaveOptions extends Omit<PipelineOptions, 'file'> {
  counters?: boolean;
  table?: string;
  out?: string;
  now?: Date;
}

export async function saveCommand(o: SaveOptions, out: Output): Promise<ExitCode> {
  if (o.table !== undefined && !isTableName(o.table)) throw new UsageError(`-t: unknown table '${o.table}' (raw, mangle, filter, nat or security)`);
  const c = await classifyLive({ ...o, counters: o.counters });
  for (const n of c.notes) out.verbose(n);
  const mine = userPart(c.live.ruleset, c.liveClass, o.table ? [o.table] : undefined);
  const date = ctime(o.now ?? new Date());
  const text = writeRuleset(mine.ruleset, { counters: o.counters === true, comments: { by: `iptables-safe-restore v${VERSION} save (from ${c.live.source})`, date } });
  const rules = mine.stripped.filter((s) => s.text !== undefined).length;
  const owners = [...new Set(mine.stripped.map((s) => s.owner))].join(', ');
  if (mine.stripped.length) out.note(`left out ${count(mine.stripped.length - rules, 'chain')} and ${count(rules, 'rule')} owned by ${owners}`);
  if (!o.out) {
    out.print(text);
    return EXIT.OK;
  }
  const { previous } = replaceKeepingPrevious(o.out, text);
  out.note(`saved to ${o.out}${previous ? ` (the previous file kept as ${o.out}.save)` : ''}`);
  return EXIT.OK;
}

/** The date as iptables-save prints it (C's ctime, local time): `Sat Dec  6 10:04:05 2025`. */
export function ctime(d: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${day} ${month} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}
