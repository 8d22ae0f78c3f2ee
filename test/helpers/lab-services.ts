// Running the packaging's service scripts for real in a Docker lab (test/lab/services.test.ts):
//  - toolShims: `iptables-safe-restore` / `ip6tables-safe-restore` for ISR_BIN_DIR that run this checkout's
//    bin/ against the lab's dockerd, with the test's state directory and lock (options after the script's own:
//    the twin and the verbs take them anywhere; `save` takes no state);
//  - MountNamespace: a process holding a private mount namespace inside the lab's host network namespace, so
//    that temp files can be bind-mounted over /etc and /usr paths for the real netfilter-persistent, and every
//    mount goes away with that process;
//  - listeners (busybox httpd in the lab host) and probes from the client namespace.
// Processes are spawned with argument arrays (execa); the shims are files written here, with quoted paths.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { WEB_BODY, type Lab, type RunResult } from './lab.js';
import { TOOL } from './lab-apply.js';

/** A word for sh, single-quoted. */
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Writes the two shims into BIN (for ISR_BIN_DIR).
 * Deliberate sabotage, to show the service tests fail when the job is done the stock way:
 * ISR_LAB_SERVICES_BREAK=stock makes them plain iptables tools (iptables-restore for the twin and reconcile,
 * iptables-save for save, -F/-X and ACCEPT policies on every table for stop), as the stock scripts use them.
 */
export function toolShims(bin: string, o: { lab: Lab; stateDir: string; lockFile: string }): void {
  const sabotage = process.env.ISR_LAB_SERVICES_BREAK;
  if (sabotage && sabotage !== 'stock') throw new Error(`ISR_LAB_SERVICES_BREAK: unknown sabotage '${sabotage}' (stock)`);
  const socket = ['--docker-socket', o.lab.dockerSocket()].map(shq).join(' ');
  const state = ['--state-dir', o.stateDir, '--lock-file', o.lockFile].map(shq).join(' ');
  for (const family of ['ipv4', 'ipv6'] as const) {
    const tool = TOOL[family];
    const run = `exec ${shq(process.execPath)} ${shq(tool)} "$@"`;
    const p = join(bin, tool.slice(tool.lastIndexOf('/') + 1));
    writeFileSync(
      p,
      sabotage
        ? stockShim(family === 'ipv4' ? 'iptables' : 'ip6tables')
        : `#!/bin/sh\n# test shim: this checkout's tool, against lab ${o.lab.instance}, with the test's state\n` +
            `case \${1:-} in\n  save) ${run} ${socket} ;;\n  *) ${run} ${state} ${socket} ;;\nesac\n`,
    );
    chmodSync(p, 0o755);
  }
}

/** ISR_LAB_SERVICES_BREAK=stock: the verbs done as iptables-services and iptables-persistent do them. */
const stockShim = (t: string): string => `#!/bin/sh
# sabotage: the stock way, with plain ${t} tools
case \${1:-} in
  save)
    out=
    while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
    if [ -n "$out" ]; then exec ${t}-save >"$out"; fi
    exec ${t}-save ;;
  stop)
    for table in $(${t}-save | sed -n 's/^\\*//p'); do
      for chain in $(${t}-save -t "$table" | sed -n 's/^:\\([A-Z]*\\) [A-Z].*/\\1/p'); do ${t} -t "$table" -P "$chain" ACCEPT; done
      ${t} -t "$table" -F && ${t} -t "$table" -X
    done ;;
  reconcile) shift; exec ${t}-restore "$@" ;;
  *) exec ${t}-restore "$@" ;;
esac
`;

/** KEY=VALUE words for env(1). */
export const envWords = (env: Record<string, string>): string[] => Object.entries(env).map(([k, v]) => `${k}=${v}`);

/** A private mount namespace inside the lab's host network namespace, held by a `sleep` until close(). */
export class MountNamespace {
  private constructor(private readonly holder: ResultPromise<{ reject: false; stdin: 'ignore' }>, readonly pid: number) {}

  static async open(lab: Lab): Promise<MountNamespace> {
    // docker-lab exec → env → nsenter --net → unshare → sleep: each one exec(2)s the next, so the pid we get is sleep's.
    const holder = lab.background(['unshare', '--mount', '--propagation', 'private', 'sleep', 'infinity']);
    const pid = holder.pid;
    assert.ok(pid, 'the mount namespace holder did not start');
    const ns = new MountNamespace(holder, pid);
    const ours = readlinkSync('/proc/self/ns/mnt');
    const end = Date.now() + 10_000;
    for (;;) {
      let comm = '';
      let mnt = ours;
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        mnt = readlinkSync(`/proc/${pid}/ns/mnt`);
      } catch {
        // not there yet, or gone: decided below
      }
      if (comm === 'sleep' && mnt !== ours) return ns;
      if (Date.now() > end) {
        await ns.close();
        assert.fail(`the mount namespace holder (pid ${pid}) did not get to sleep in a mount namespace of its own (comm '${comm}')`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** ARGS in this mount namespace and the lab's host network namespace; ENV added to ours. */
  async run(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<RunResult> {
    const r = await execa('nsenter', ['-t', String(this.pid), '-m', '-n', '--', ...args], { reject: false, stdin: 'ignore', env, timeout: timeoutMs });
    return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), timedOut: Boolean(r.timedOut) };
  }

  async bind(source: string, target: string): Promise<void> {
    const r = await this.run(['mount', '--bind', source, target]);
    assert.equal(r.exitCode, 0, `mount --bind ${source} ${target}: ${r.stderr}`);
  }

  /** Kills the holder: the namespace and every mount in it go away. */
  async close(): Promise<void> {
    this.holder.kill('SIGKILL');
    await this.holder;
  }
}

/** busybox httpd serving ROOT on PORT (v4 and v6) in the lab's host namespace; kill and await it when done. */
export function listen(lab: Lab, port: number, root: string): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  writeFileSync(join(root, 'index.html'), `${WEB_BODY}\n`);
  return lab.background(['busybox', 'httpd', '-f', '-p', String(port), '-h', root]);
}

/** The client's URL of PORT on the lab host (v4, or v6 in brackets). */
export const hostUrl = (lab: Lab, port: number, v6 = false): string => (v6 ? `http://[${lab.env.HOST_IP6}]:${port}/` : `http://${lab.env.HOST_IP}:${port}/`);

/** Asserts URL answers from the client, retrying for up to 10 s (a listener or Docker may need a moment). */
export async function assertAnswers(lab: Lab, url: string, when: string): Promise<void> {
  const end = Date.now() + 10_000;
  let r = await lab.httpGet('client', url);
  while (!r.ok && Date.now() < end) {
    await new Promise((res) => setTimeout(res, 250));
    r = await lab.httpGet('client', url);
  }
  assert.ok(r.ok, `${when}: ${url} answers from the client (exit ${r.exitCode}: ${(r.stdout + r.stderr).trim().slice(0, 200)})`);
}

/** Asserts URL is turned away at once from the client, with wget's message matching HOW (the REJECT's kind). */
export async function assertRejected(lab: Lab, url: string, how: RegExp, when: string): Promise<void> {
  const r = await lab.httpGet('client', url);
  assert.ok(!r.ok && !r.timedOut && how.test(r.stderr), `${when}: ${url} is rejected (${how}) from the client; got exit ${r.exitCode}: ${(r.stdout + r.stderr).trim().slice(0, 200)}`);
}
