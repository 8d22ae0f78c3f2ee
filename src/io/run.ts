// The one place that runs processes. Everything that execs goes through `run`, always with an
// argument array (never a shell string). Tests replace the runner with a fake that records
// calls or fails on purpose (`setRunner`). Besides: flock(1) on our lock's descriptor
// (lockDescriptor), and a detached child (the confirmation watchdog, outlives us).
//
// Every other child is bounded: it runs in a process group of its own and, past its timeout
// (default 5 minutes, `--timeout` / the `timeout` setting), the whole group is sent SIGTERM,
// then SIGKILL 2 s later — a hung iptables-restore, and anything it started, never keeps us
// (and our lock) waiting. The result is exit 124, as timeout(1) says it.
import { spawn } from 'node:child_process';
import { closeSync, openSync, read } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { execa, type Options } from 'execa';

/** How long a child may run (ms) unless RunOptions.timeoutMs says otherwise. */
export const DEFAULT_CHILD_TIMEOUT_MS = 300_000;
let childTimeoutMs = DEFAULT_CHILD_TIMEOUT_MS;

/** Set the bound of every child process from now on (the --timeout option, the `timeout` setting). */
export function setChildTimeout(ms: number): void {
  childTimeoutMs = ms;
}

export interface RunOptions {
  /** Data for the child's stdin. */
  input?: string;
  /** Run inside this network namespace (a path such as /run/netns/NAME), via nsenter. */
  netns?: string;
  timeoutMs?: number;
  /** Send stdout to this file instead of a pipe (the child never waits for us to read). */
  stdoutFile?: string;
  /**
   * With stdoutFile (which must exist): receive what the child writes there, in order, while
   * it runs (the file is read behind the writer whenever we are idle, and to its end after the
   * child exits), so that parsing overlaps the child's work. RunResult.stdout is then empty.
   */
  onStdout?: (chunk: string) => void;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The command as it would be typed, for messages. */
  command: string;
}

export type Runner = (file: string, args: readonly string[], opts: RunOptions) => Promise<RunResult>;

const execaRunner: Runner = async (file, args, opts) => {
  const [cmd, argv] = opts.netns ? ['nsenter', [`--net=${opts.netns}`, '--', file, ...args]] : [file, [...args]];
  // To a file: the child gets the file itself as its stdout (a descriptor, not a pipe that
  // execa would copy through us), so it never waits for us and nothing is kept in memory.
  const outFd = opts.stdoutFile ? openSync(opts.stdoutFile, 'w', 0o600) : undefined;
  const follow = opts.stdoutFile && opts.onStdout ? followFile(opts.stdoutFile, opts.onStdout) : undefined;
  const child = execa(cmd, argv, {
    input: opts.input ?? '',
    // ([fd]: execa hands a descriptor to the child as it is; its types list it only for stdin)
    ...(outFd !== undefined ? { stdout: [outFd] as unknown as Options['stdout'] } : {}),
    reject: false,
    stripFinalNewline: false,
    detached: true, // a process group of its own: a timeout kills all of it
    env: { LC_ALL: 'C' },
    extendEnv: true,
  });
  const limit = opts.timeoutMs ?? childTimeoutMs;
  const bound = boundGroup(child.pid, limit);
  let res;
  try {
    res = await child;
  } finally {
    bound.clear();
    if (outFd !== undefined) closeSync(outFd);
    await follow?.finish();
  }
  // not started at all (no such program, not executable): the shell's 127, with the reason
  const notStarted = res.exitCode === undefined && !bound.fired() && (res.cause as NodeJS.ErrnoException | undefined)?.syscall?.startsWith('spawn');
  return {
    exitCode: bound.fired() ? 124 : (res.exitCode ?? (notStarted ? 127 : 1)),
    stdout: String(res.stdout ?? ''),
    stderr: (bound.fired() ? `timed out after ${limit / 1000} s (--timeout): killed it and everything it started\n` : '') +
      String(res.stderr ?? '') + (notStarted ? `${(res.cause as Error).message}\n` : ''),
    command: [cmd, ...argv].join(' '),
  };
};

/** After `ms`, SIGTERM to the process group `pgid`, then SIGKILL 2 s later if it is still there. */
function boundGroup(pgid: number | undefined, ms: number): { clear: () => void; fired: () => boolean } {
  let fired = false;
  const kill = (sig: NodeJS.Signals) => {
    try {
      if (pgid) process.kill(-pgid, sig);
    } catch {
      // gone already
    }
  };
  let hard: NodeJS.Timeout | undefined;
  const soft = setTimeout(() => {
    fired = true;
    kill('SIGTERM');
    hard = setTimeout(() => kill('SIGKILL'), 2000);
  }, ms);
  return {
    clear: () => {
      clearTimeout(soft);
      if (hard) clearTimeout(hard);
      // what the child left running in its group goes with it (SIGKILL: it had its time)
      if (fired) kill('SIGKILL');
    },
    fired: () => fired,
  };
}

/** Read a file behind its writer: poll while idle, then read to the end once it is done. */
function followFile(path: string, onChunk: (chunk: string) => void): { finish: () => Promise<void> } {
  const fd = openSync(path, 'r');
  const decoder = new StringDecoder('utf8');
  // 64 KB at a time: a string of more than ~128 KB goes to V8's large-object space, which only
  // a full collection empties, so 1 MB reads left the pieces already used up (apply's
  // verification) in memory to the end (measured at 100k rules: peak -10 MiB, same speed).
  const buf = Buffer.allocUnsafe(1 << 16);
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let reading: Promise<void> = Promise.resolve();
  let failed: unknown;
  const readSome = (): Promise<number> =>
    new Promise((res, rej) => read(fd, buf, 0, buf.length, null, (e, n) => (e ? rej(e) : res(n))));
  const drain = async () => {
    for (let n = await readSome(); n > 0; n = await readSome()) onChunk(decoder.write(buf.subarray(0, n)));
  };
  const poll = () => {
    reading = drain().then(
      () => {
        if (!done) timer = setTimeout(poll, 4);
      },
      (e) => void (failed = e),
    );
  };
  poll();
  return {
    finish: async () => {
      done = true;
      if (timer) clearTimeout(timer);
      try {
        await reading;
        if (failed) throw failed;
        await drain();
        const rest = decoder.end();
        if (rest) onChunk(rest);
      } finally {
        closeSync(fd);
      }
    },
  };
}

let runner: Runner = execaRunner;

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runner(file, args, opts);
}

/** Replace the process runner (tests). Returns the previous one. */
export function setRunner(r: Runner): Runner {
  const prev = runner;
  runner = r;
  return prev;
}

/** The real runner, for fakes that delegate some calls. */
export const realRunner: Runner = execaRunner;

/**
 * `flock ARGS 3` on our open descriptor `fd` (io/lock.ts): flock(1) locks the open file
 * description it shares with us and exits; the lock then stays with our descriptor. Resolves
 * with flock's exit status (1: busy or timed out) and what it said; 127 when it cannot start.
 */
export function lockDescriptor(fd: number, args: readonly string[]): Promise<{ exitCode: number; stderr: string }> {
  return new Promise((resolve) => {
    // same process group as ours: Ctrl-C while it waits ends the wait with us
    const child = spawn('flock', [...args, '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], env: { ...process.env, LC_ALL: 'C' } });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.once('error', (e) => resolve({ exitCode: 127, stderr: `flock: ${e.message}` }));
    child.once('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), stderr }));
  });
}

export interface Detached {
  pid: number;
  /** Resolves with the line the child wrote on fd 3 once ready; rejects if it exits, fails or is silent. */
  ready: Promise<string>;
}

/**
 * A child that outlives us, out of reach of our terminal: a session of its own (setsid, so no
 * controlling terminal and no SIGHUP when ours hangs up), stdin /dev/null, stdout and stderr
 * to `logFd`. It says it is ready by writing one line on fd 3 (a pipe) and closing it; after
 * that nothing ties it to us, and our event loop does not wait for it.
 */
export function spawnDetached(file: string, args: readonly string[], opts: { logFd: number; readyTimeoutMs: number }): Detached {
  // cwd /: it must not keep the caller's directory (a home on NFS, a mount) busy while it waits
  const child = spawn(file, [...args], { detached: true, cwd: '/', stdio: ['ignore', opts.logFd, opts.logFd, 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  const pipe = child.stdio[3] as Readable;
  const ready = new Promise<string>((resolve, reject) => {
    let said = '';
    const end = (err?: Error) => {
      clearTimeout(timer);
      pipe.destroy();
      child.removeAllListeners();
      child.unref();
      if (err) reject(err);
      else resolve(said.trim());
    };
    const timer = setTimeout(() => end(new Error(`not ready after ${opts.readyTimeoutMs} ms`)), opts.readyTimeoutMs);
    pipe.on('data', (d: Buffer) => {
      said += d.toString();
      if (said.includes('\n')) end();
    });
    pipe.on('error', () => {});
    child.once('error', (e) => end(e));
    child.once('exit', (code, signal) => end(new Error(`exited (${signal ?? `code ${code}`}) before it was ready`)));
  });
  return { pid: child.pid ?? 0, ready };
}
