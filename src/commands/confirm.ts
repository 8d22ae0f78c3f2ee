// `confirm`: keep the change awaiting confirmation (apply --confirm). Run it from a NEW login:
// that it works is the proof the new rules let you in. `confirm --status` shows what is
// pending; `confirm --reject` rolls it back now instead of at the deadline.
//
//   exit 0   confirmed (--status: nothing pending; --reject: rolled back)
//   exit 8   --status: a change is awaiting confirmation
//   exit 9   nothing is awaiting confirmation
//   exit 10  too late: the deadline passed and the change was rolled back
import { join } from 'node:path';
import { formatDuration } from '../core/duration.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { confirmCommandLine, confirmPending, lastResolution, rollbackPending } from '../apply/confirm.js';
import { currentUserAndOrigin } from '../io/journal.js';
import { msLeft, readPending, watched } from '../io/pending.js';
import { WATCHDOG_LOG } from '../io/watchdog.js';
import type { Output } from '../ui/output.js';
import { report } from '../ui/outcome.js';

export interface ConfirmOptions {
  stateDir: string;
  lockWait: number;
  status?: boolean;
  reject?: boolean;
  json?: boolean;
}

export async function confirmCommand(o: ConfirmOptions, out: Output): Promise<ExitCode> {
  if (o.status) return status(o, out);
  const say = (l: string) => out.warn(l);
  if (o.reject) return reject(o, out);
  const r = await confirmPending(o.stateDir, { lockWait: o.lockWait, by: `confirm (${currentUserAndOrigin()})`, say });
  switch (r.result) {
    case 'confirmed':
      out.result(`confirmed: the change of ${r.pending.appliedAt} stays (it would have been rolled back at ${r.pending.deadline}, ${formatDuration(msLeft(r.pending))} from now)`);
      if (!r.watchdogGone) out.warn(`its watchdog (pid ${r.pending.watchdogPid}) has not exited yet; it will once it notices`);
      return EXIT.OK;
    case 'nothing':
      out.warn('nothing is awaiting confirmation');
      return EXIT.NOTHING_PENDING;
    case 'too-late':
      out.warn(`too late: ${r.last?.summary ?? 'the deadline has passed'}`);
      if (r.failed) out.warn(`and the rollback did not succeed (${r.failed}): see 'history' and ${join(o.stateDir, WATCHDOG_LOG)}`);
      return EXIT.NOT_CONFIRMED;
  }
}

async function reject(o: ConfirmOptions, out: Output): Promise<ExitCode> {
  const p = readPending(o.stateDir);
  if (!p) {
    out.warn('nothing is awaiting confirmation');
    return EXIT.NOTHING_PENDING;
  }
  out.warn(`rolling back the change of ${p.appliedAt} to snapshot ${p.snapshot} now (--reject)`);
  const r = await rollbackPending(o.stateDir, p, { why: `rejected by confirm --reject (${currentUserAndOrigin()})`, lockWait: o.lockWait, say: (l) => out.warn(l), evenIfWatched: true });
  if (r === 'settled') {
    out.warn(`it was settled meanwhile: ${lastResolution(o.stateDir)?.summary ?? 'see history'}`);
    return EXIT.NOTHING_PENDING;
  }
  const code = report(r, out);
  return code === EXIT.NOTHING_TO_DO ? EXIT.OK : code;
}

function status(o: ConfirmOptions, out: Output): ExitCode {
  const p = readPending(o.stateDir);
  const last = lastResolution(o.stateDir);
  if (o.json) {
    const pending = p ? { ...p, secondsLeft: Math.round(msLeft(p) / 1000), watchdogAlive: watched(p) } : null;
    out.print(JSON.stringify({ pending, last: last ?? null }, null, 2) + '\n');
    return p ? EXIT.PENDING_CONFIRMATION : EXIT.OK;
  }
  if (!p) {
    out.print(`nothing is awaiting confirmation${last ? `; last: ${last.result} ${last.time}${last.summary ? `: ${last.summary}` : ''}` : ''}\n`);
    return EXIT.OK;
  }
  const left = msLeft(p);
  const alive = watched(p);
  out.print(
    [
      `awaiting confirmation: the change applied ${p.appliedAt} by ${p.user} (${p.command})`,
      `  deadline   ${p.deadline} (${left > 0 ? `in ${formatDuration(left)}` : `passed ${formatDuration(-left)} ago`})`,
      `  snapshot   ${p.snapshot} (what the rollback restores: ${p.families.join(', ')}, merged with the Docker rules live then)`,
      `  watchdog   pid ${p.watchdogPid ?? '?'}, ${alive ? 'alive' : "NOT RUNNING: 'recover' (or the next apply) rolls the change back"}`,
      `  keep it    ${confirmCommandLine(o.stateDir)}`,
      `  undo now   ${confirmCommandLine(o.stateDir)} --reject`,
    ].join('\n') + '\n',
  );
  return EXIT.PENDING_CONFIRMATION;
}
