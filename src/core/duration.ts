// Durations as people type them on a command line (`apply --confirm=90s`): a number of
// seconds, or parts with units — `500ms`, `90s`, `5m`, `1h`, `1m30s`. Pure: no clock.
import { UserError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in `text`; a UserError naming `what` when it is not a duration in [min, max]. */
export function parseDuration(text: string, what: string, minMs: number, maxMs: number): number {
  const t = text.trim();
  let ms: number | undefined;
  if (/^\d+(\.\d+)?$/.test(t)) ms = Number(t) * 1000;
  else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) {
    ms = 0;
    for (const [, n, , unit] of t.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * UNIT_MS[unit];
  }
  if (ms === undefined) throw new UserError(`${what}: '${text}' is not a duration (say 90, 90s, 5m, 1h or 1m30s)`);
  if (ms < minMs || ms > maxMs) throw new UserError(`${what}: '${text}' is out of range (${formatDuration(minMs)} to ${formatDuration(maxMs)})`);
  return Math.round(ms);
}

/** `1h2m3s`, `45s`, `0s`: whole seconds, rounded up (a deadline in 0.2 s is "1s" away). */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''];
  return parts.join('');
}
