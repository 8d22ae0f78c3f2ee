// The one place that runs processes. Everything that execs goes through `run`, always with an
// argument array (never a shell string). Tests replace the runner with a fake that records
// calls or fails on purpose (`setRunner`).
import { execa } from 'execa';

export interface RunOptions {
  /** Data for the child's stdin. */
  input?: string;
  /** Run inside this network namespace (a path such as /run/netns/NAME), via nsenter. */
  netns?: string;
  timeoutMs?: number;
  /** Send stdout to this file instead of a pipe (the child never waits for us to read). */
  stdoutFile?: string;
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
  const res = await execa(cmd, argv, {
    input: opts.input ?? '',
    ...(opts.stdoutFile ? { stdout: { file: opts.stdoutFile } } : {}),
    reject: false,
    stripFinalNewline: false,
    timeout: opts.timeoutMs,
    env: { LC_ALL: 'C' },
    extendEnv: true,
  });
  return {
    exitCode: res.exitCode ?? (res.timedOut ? 124 : 1),
    stdout: String(res.stdout ?? ''),
    stderr: String(res.stderr ?? '') + (res.timedOut ? `\n(timed out after ${opts.timeoutMs} ms)` : ''),
    command: [cmd, ...argv].join(' '),
  };
};

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
  const child = execa(file, [...args], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, env: { LC_ALL: 'C' } });
  const probe = `isr-holder-${process.pid}\n`;
  let echoed = '';
  const readyP = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      echoed += d.toString();
      if (echoed.includes(probe)) resolve();
    });
    void child.then((r) => reject(Object.assign(new Error(String(r.stderr ?? '').trim() || `exit ${r.exitCode}`), { exitCode: r.exitCode })));
  });
  child.stdin?.write(probe);
  return {
    ready: readyP,
    release: async () => {
      child.stdin?.end();
      await child;
    },
  };
}

