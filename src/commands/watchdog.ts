// `__watchdog --state-dir DIR --token TOKEN` (hidden; started by apply --confirm through
// io/watchdog.ts, in a session of its own, output appended to DIR/confirm-watchdog.log).
//
// It sleeps until the deadline of the pending change named by TOKEN, looking at the state
// again at least once a second and whenever nudged (SIGUSR2, sent by `confirm`): once the
// change is confirmed (or settled by another run), it exits. At the deadline it starts the
// rollback at once (apply/confirm-rollback.ts: under the tool's lock, waiting for it up to 30 s
// a round), journals it with the lag after the deadline, and exits. SIGHUP and SIGINT are
// ignored (it has no terminal to lose); SIGTERM — a shutdown, or logind ending the login's
// processes — means it cannot wait any longer: the unconfirmed change is rolled back now.
//
// The deadline is waited for on the monotonic clock: the time left when it is armed is counted
// down by performance.now(), so a wall clock set back (NTP, an operator, a VM resumed) neither
// delays the rollback nor, set forward, brings it early. The deadline in the file stays the
// wall-clock time people read.
import { writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { LockedError } from '../io/lock.js';
import { msLeft, readPending } from '../io/pending.js';
import { sayArmed } from '../io/watchdog.js';
import { rollbackPending, warmRollback } from '../apply/confirm.js';
import type { Output } from '../ui/output.js';
import { report } from '../ui/outcome.js';

const MAX_ROUNDS = 10;
const LOCK_WAIT_S = 30;
/** Prepare the rollback's target in advance only when there is clearly time for it. */
const WARM_MIN_MS = 3000;

export async function watchdogCommand(o: { stateDir: string; token: string }): Promise<ExitCode> {
  const out = logOutput();
  const log = (line: string) => out.warn(`${new Date().toISOString()} [${process.pid}] ${line}`);
  let terminated = false;
  let wake = () => {};
  for (const sig of ['SIGHUP', 'SIGINT'] as const) process.on(sig, () => log(`${sig} ignored`));
  process.on('SIGUSR2', () => wake());
  process.on('SIGTERM', () => {
    terminated = true;
    wake();
  });
  const mine = () => {
    const p = readPending(o.stateDir);
    return p && p.token === o.token ? p : undefined;
  };
  const first = mine();
  sayArmed(first ? `armed ${process.pid}` : 'nothing to watch');
  if (!first) {
    log(`no change awaiting confirmation with token ${o.token} in ${o.stateDir}: nothing to watch`);
    return EXIT.NOTHING_PENDING;
  }
  log(`armed: the change of ${first.appliedAt} (snapshot ${first.snapshot}) is rolled back at ${first.deadline} unless confirmed`);
  const deadline = performance.now() + msLeft(first);
  const left = () => deadline - performance.now();
  if (msLeft(first) > WARM_MIN_MS) await warmRollback(o.stateDir, first);
  for (let p = mine(); ; p = mine()) {
    if (!p) {
      log('settled (confirmed, or rolled back by another run): exiting');
      return EXIT.OK;
    }
    const ms = left();
    if (ms <= 0 || terminated) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(ms, 1000));
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  return rollBack(o, terminated, log, out, () => Math.round(-left()));
}

/**
 * Everything said goes to the log (our stdout and stderr), written so that a log that cannot be
 * written (a full disk) never stops the rollback: a failed write is dropped, not thrown.
 */
function logOutput(): Output {
  const write = (fd: number, text: string) => {
    try {
      writeSync(fd, text);
    } catch {
      // nowhere to say it
    }
  };
  const line = (l: string) => write(2, `iptables-safe-restore: ${l}\n`);
  return { print: (t) => write(1, t), result: (l) => write(1, l + '\n'), note: line, verbose: () => {}, warn: line, error: line };
}

async function rollBack(o: { stateDir: string; token: string }, terminated: boolean, log: (l: string) => void, out: Output, lagMs: () => number): Promise<ExitCode> {
  const why = terminated ? 'not confirmed (its watchdog was terminated before the deadline)' : 'not confirmed by the deadline';
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const p = readPending(o.stateDir);
    if (!p || p.token !== o.token) {
      log('settled meanwhile: nothing to roll back');
      return EXIT.OK;
    }
    log(`${why}: rolling back to snapshot ${p.snapshot}${round > 1 ? ` (round ${round})` : ''}`);
    try {
      const r = await rollbackPending(o.stateDir, p, { why, lockWait: LOCK_WAIT_S, say: log, evenIfWatched: true, lagMs, uninterruptible: true });
      if (r === 'settled') {
        log('settled by another run meanwhile: nothing rolled back');
        return EXIT.OK;
      }
      const code = report(r, out);
      if (r.result === 'applied' || r.result === 'nothing-to-do') {
        log(`rolled back, ${lagMs()} ms after the deadline ${p.deadline}`);
        return EXIT.OK;
      }
      if (r.result === 'rollback-failed') return code;
    } catch (e) {
      log(`rollback round ${round} failed: ${(e as Error).message}`);
      if (!(e instanceof LockedError)) return EXIT.ERROR;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  log(`gave up after ${MAX_ROUNDS} rounds: the change stays pending without a watchdog; 'recover' rolls it back`);
  return EXIT.ERROR;
}
