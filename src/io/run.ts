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
