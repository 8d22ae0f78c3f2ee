// The one place that runs processes. Everything that execs goes through `run`, always with an
// argument array (never a shell string, never a shell). Tests replace the runner with a fake
// that records calls or fails on purpose (`setRunner`).
//
// Built on node:child_process rather than execa: loading execa costs ~90 ms of start-up,
// more than a small ruleset's whole iptables-save, and we use none of what it adds.
import { spawn } from 'node:child_process';
import { closeSync, openSync, read } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface RunOptions {
  /** Data for the child's stdin. */
  input?: string;
  /** Run inside this network namespace (a path such as /run/netns/NAME), via nsenter. */
  netns?: string;
  timeoutMs?: number;
  /** Send stdout to this file instead of a pipe (the child never waits for us to read). */
  stdoutFile?: string;
  /**
   * With stdoutFile: receive what the child writes there, in order, while it runs (the file
   * is read behind the writer whenever we are idle, and to its end after the child exits),
   * so that parsing overlaps the child's work. RunResult.stdout is then empty.
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

const ENV = { ...process.env, LC_ALL: 'C' };

const spawnRunner: Runner = (file, args, opts) => {
  const [cmd, argv] = opts.netns ? ['nsenter', [`--net=${opts.netns}`, '--', file, ...args]] : [file, [...args]];
  const command = [cmd, ...argv].join(' ');
  const outFd = opts.stdoutFile ? openSync(opts.stdoutFile, 'w', 0o600) : undefined;
  const follow = opts.stdoutFile && opts.onStdout ? followFile(opts.stdoutFile, opts.onStdout) : undefined;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['pipe', outFd ?? 'pipe', 'pipe'], env: ENV });
    if (outFd !== undefined) closeSync(outFd); // the child holds its own copy
    const out: string[] = [];
    const err: string[] = [];
    child.stdout?.setEncoding('utf8').on('data', (d: string) => out.push(d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => err.push(d));
    child.stdin?.on('error', () => {}); // a child that exits without reading its input
    child.stdin?.end(opts.input ?? '');
    let timedOut = false;
    const timer = opts.timeoutMs ? setTimeout(() => ((timedOut = true), child.kill('SIGTERM')), opts.timeoutMs) : undefined;
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.on('close', async (code) => {
      if (timer) clearTimeout(timer);
      try {
        await follow?.finish();
      } catch (e) {
        return reject(e);
      }
      const note = timedOut ? `\n(timed out after ${opts.timeoutMs} ms)` : spawnError ? `${spawnError.message}\n` : '';
      resolve({ exitCode: timedOut ? 124 : spawnError ? 127 : (code ?? 1), stdout: out.join(''), stderr: err.join('') + note, command });
    });
  });
};

/** Read a file behind its writer: poll while idle, then read to the end once it is done. */
function followFile(path: string, onChunk: (chunk: string) => void): { finish: () => Promise<void> } {
  const fd = openSync(path, 'r');
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.allocUnsafe(1 << 20);
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

let runner: Runner = spawnRunner;

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
export const realRunner: Runner = spawnRunner;

export interface Holder {
  /** Resolves once the child echoed our probe line back; rejects if it exits first. */
  ready: Promise<void>;
  /** Close the child's stdin so it exits. */
  release(): Promise<void>;
}

/**
 * A long-lived child that holds something for us (the flock of lock.ts) until its stdin
 * closes — which also happens when this process dies, however it dies. The child must echo
 * its stdin (cat): the probe line coming back says it is running, i.e. holds what it holds.
 */
export function spawnHolder(file: string, args: readonly string[]): Holder {
  const child = spawn(file, [...args], { stdio: ['pipe', 'pipe', 'pipe'], env: ENV });
  const probe = `isr-holder-${process.pid}\n`;
  let echoed = '';
  let stderr = '';
  const exited = new Promise<number>((resolve) => {
    child.on('error', (e) => ((stderr += e.message), resolve(127)));
    child.on('close', (code) => resolve(code ?? 1));
  });
  const readyP = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      echoed += d;
      if (echoed.includes(probe)) resolve();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    void exited.then((code) => reject(Object.assign(new Error(stderr.trim() || `exit ${code}`), { exitCode: code })));
  });
  child.stdin.on('error', () => {});
  child.stdin.write(probe);
  return {
    ready: readyP,
    release: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
