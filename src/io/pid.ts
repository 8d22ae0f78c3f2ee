// Is a process with this pid running (ours or another user's)? Kept apart from run.ts so the
// start-up check for an unfinished apply does not load the process runner.
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
