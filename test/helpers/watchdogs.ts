// The confirmation watchdogs a test started, found by their command line (`__watchdog` and
// the test's own state directory), so that cleanup kills exactly those, by pid.
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of watchdogs whose command line names this state directory. */
export function watchdogsOf(stateDir: string): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).flatMap((n) => {
    try {
      const argv = readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0');
      return argv.includes('__watchdog') && argv.includes(stateDir) ? [Number(n)] : [];
    } catch {
      return [];
    }
  });
}

/** Kill them (SIGKILL, by pid). */
export function killWatchdogsOf(stateDir: string): void {
  for (const pid of watchdogsOf(stateDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
