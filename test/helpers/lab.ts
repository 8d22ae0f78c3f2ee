// Thin TypeScript side of scripts/docker-lab for lab tests: bring a real engine + scenario up in its own
// network namespaces, run things in the lab's host or client namespace, tear it all down.
//
// Every process is spawned with an argument array (execa), never a shell string. Each Lab has an instance
// name (ISR_LAB_NAME): two labs with different names never share a namespace, socket, cgroup or data root.
import { execa, type Result, type ResultPromise } from 'execa';
import type { TestContext } from 'node:test';
import { skipOrFail } from './root.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ENGINES = ['20.10', '26', '28'] as const;
export type Engine = (typeof ENGINES)[number];
export const SCENARIOS = ['default-bridge', 'user-bridge', 'internal', 'noicc', 'ipv6', 'noproxy'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The repository root (found from this file, compiled or not). */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'scripts', 'docker-lab')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (scripts/docker-lab) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
})();

export const labScript = join(repoRoot, 'scripts', 'docker-lab');
export const fixture = (...parts: string[]): string => join(repoRoot, 'test', 'fixtures', ...parts);

/** KEY=VALUE lines of the instance's lab.env, as printed by `docker-lab up` / `docker-lab env`. */
export type LabEnv = Record<string, string>;

export function parseLabEnv(text: string): LabEnv {
  const env: LabEnv = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && /^[A-Z0-9_]+$/.test(line.slice(0, i))) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

export interface RunResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function toRun(r: Result): RunResult {
  return {
    exitCode: r.exitCode,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    timedOut: Boolean(r.timedOut),
  };
}

/** Engines whose binaries are in the lab cache (scripts/docker-lab fetch). */
export async function fetchedEngines(): Promise<Engine[]> {
  const r = await execa(labScript, ['fetched'], { reject: false, timeout: 30_000 });
  const have = String(r.stdout ?? '').split('\n').filter(Boolean);
  return ENGINES.filter((e) => have.includes(e));
}

/** A subtest `engine E` per engine; one whose binaries are not fetched is skipped (a failure under CI=true). */
export async function forEachEngine(t: TestContext, engines: readonly Engine[], fn: (t: TestContext, engine: Engine) => Promise<void>): Promise<void> {
  const fetched = await fetchedEngines();
  for (const engine of engines) {
    await t.test(`engine ${engine}`, { timeout: 300_000 }, async (t) => {
      if (!fetched.includes(engine)) {
        skipOrFail(t, `engine ${engine} is not fetched (run scripts/lab-setup or scripts/docker-lab fetch ${engine})`);
        return;
      }
      await fn(t, engine);
    });
  }
}

/** The web root every lab container serves. */
export const WEB_BODY = 'isr-lab ok';

export class Lab {
  env: LabEnv = {};
  constructor(readonly instance: string) {
    if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(instance)) throw new Error(`bad lab instance name: ${instance}`);
  }

  private run(args: string[], timeoutMs: number, input?: string, extraEnv: Record<string, string> = {}): Promise<RunResult> {
    return execa(labScript, args, {
      reject: false,
      timeout: timeoutMs,
      // no stdin unless given: a tool that falls back to reading stdin must not wait forever
      ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
      env: { ...extraEnv, ISR_LAB_NAME: this.instance },
      stripFinalNewline: false,
    }).then(toRun);
  }

  /**
   * docker-lab up ENGINE SCENARIO; throws with docker-lab's own message (engine and step) when it fails.
   * liveRestore: dockerd runs with "live-restore": true (needed for restartDaemon to keep the containers).
   */
  async up(engine: Engine, scenario: Scenario, opts: { liveRestore?: boolean } = {}): Promise<LabEnv> {
    const r = await this.run(['up', engine, scenario], 240_000, undefined, { ISR_LAB_LIVE_RESTORE: opts.liveRestore ? '1' : '0' });
    if (r.exitCode !== 0) {
      throw new Error(
        `docker-lab up ${engine} ${scenario} failed (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}):\n${r.stderr.slice(-4000)}`,
      );
    }
    this.env = parseLabEnv(r.stdout);
    return this.env;
  }

  /**
   * docker-lab restart-daemon: SIGTERM dockerd, wait, start it again with the same flags. Exit 0: the container
   * survived and answered again; 3: it survived but did not answer; 1: it did not survive (or another error).
   * On success this.env is refreshed from the printed lab.env.
   */
  async restartDaemon(): Promise<RunResult> {
    const r = await this.run(['restart-daemon', this.instance], 180_000);
    if (r.exitCode === 0 || r.exitCode === 3) this.env = parseLabEnv(r.stdout);
    return r;
  }

  /** The lab dockerd's socket path (from DOCKER_HOST in lab.env). */
  dockerSocket(): string {
    const host = this.env.DOCKER_HOST ?? '';
    if (!host.startsWith('unix://')) throw new Error(`lab.env has no unix DOCKER_HOST (got '${host}'): is the lab up?`);
    return host.slice('unix://'.length);
  }

  /** The engine's own docker CLI against the lab's dockerd (run in the lab host namespace). */
  docker(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.exec(['docker', ...args], opts);
  }

  /**
   * Start a long-running command in the lab's host namespace and return the running process (execa's
   * subprocess, reject: false). docker-lab exec ends in exec(2) of nsenter, and nsenter (net only) execs
   * CMD, so killing the returned process kills CMD. The caller must kill and await it.
   */
  background(args: string[]): ResultPromise<{ reject: false; stdin: 'ignore' }> {
    return execa(labScript, ['exec', ...args], { reject: false, stdin: 'ignore', env: { ISR_LAB_NAME: this.instance } });
  }

  /** Tear this instance down (daemons, containers, mounts, cgroups, namespaces). Never throws. */
  async down(): Promise<RunResult> {
    return this.run(['down', this.instance], 120_000);
  }

  /** Run a command in the lab's host namespace (the engine's docker CLI and DOCKER_HOST are set). */
  exec(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return this.run(['exec', ...args], opts.timeoutMs ?? 60_000, opts.input);
  }

  /** Run a command in the client ("outside world") namespace. */
  client(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.run(['client', ...args], opts.timeoutMs ?? 60_000);
  }

  /**
   * HTTP GET with busybox wget, bounded by timeout(1) (bookworm's static busybox wget crashes with -T).
   * A refused/rejected connection fails fast with wget's message; a dropped one ends as timedOut.
   */
  async httpGet(from: 'client' | 'host', url: string, seconds = 5): Promise<RunResult & { ok: boolean }> {
    const args = ['timeout', '-s', 'KILL', String(seconds), 'busybox', 'wget', '-q', '-O', '-', url];
    const r = from === 'client' ? await this.client(args) : await this.exec(args);
    // timeout(1) -s KILL exits 137 when the time ran out
    const timedOut = r.timedOut || r.exitCode === 137;
    return { ...r, timedOut, ok: r.exitCode === 0 && r.stdout.includes(WEB_BODY) };
  }
}
