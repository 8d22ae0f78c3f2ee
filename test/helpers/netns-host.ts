// A throwaway "Docker host" for integration tests: a network namespace whose firewall holds a
// real Docker 20.10 capture (IPv4 and IPv6), a private directory (state, lock, files), the
// built tool run against it, and the live ruleset read back. Removed after the test, also
// when it fails.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, deleteNetns, type Netns } from '../../src/io/netns.js';
import { restore, save } from '../../src/io/iptables.js';
import type { Family } from '../../src/core/model.js';
import { fixture, repoRoot, withoutComments } from './fixtures.js';

export const BIN: Record<Family, string> = {
  ipv4: join(repoRoot, 'bin', 'iptables-safe-restore'),
  ipv6: join(repoRoot, 'bin', 'ip6tables-safe-restore'),
};

/** Docker 20.10 with a published container on a user bridge and the default bridge (nothing of the user's). */
export const DOCKER_LIVE: Record<Family, string> = {
  ipv4: withoutComments(readFileSync(fixture('lab', '20.10', 'ipv6.v4.rules'), 'utf8')),
  ipv6: withoutComments(readFileSync(fixture('lab', '20.10', 'ipv6.v6.rules'), 'utf8')),
};

export interface Ran {
  code: number;
  out: string;
  err: string;
}

export interface Host {
  ns: Netns;
  dir: string;
  backend: 'nft' | 'legacy';
  /** Write a file (0600) in the private directory; returns its path. */
  file: (name: string, text: string) => string;
  /** The tool with ARGS, then the options that point it at this host (`tx`: also state and lock). */
  tool: (args: string[], o?: { tx?: boolean; env?: Record<string, string>; input?: string; family?: Family }) => Promise<Ran>;
  /** The options that point the tool at this host. */
  hostOptions: (tx: boolean) => string[];
  /** iptables-save of the namespace, counters zeroed (or kept with counters). */
  state: (o?: { family?: Family; counters?: boolean; table?: string }) => Promise<string>;
  /** iptables (the backend's) in the namespace. */
  ipt: (args: string[]) => Promise<Ran>;
}

export async function dockerHost(backend: 'nft' | 'legacy', t: { after: (f: () => Promise<void> | void) => void }, purpose = 'host'): Promise<Host> {
  const ns = await createNetns(purpose);
  const dir = mkdtempSync(join(tmpdir(), `isr-${purpose}-`));
  t.after(async () => {
    await deleteNetns(ns);
    rmSync(dir, { recursive: true, force: true });
  });
  await restore(DOCKER_LIVE.ipv4, { family: 'ipv4', backend, netns: ns.path });
  await restore(DOCKER_LIVE.ipv6, { family: 'ipv6', backend, netns: ns.path });
  const hostOptions = (tx: boolean) => [
    '--netns', ns.path, '--backend', backend, '--docker-socket', '/nonexistent/sock',
    ...(tx ? ['--state-dir', join(dir, 'state'), '--lock-file', join(dir, 'lock')] : []),
  ];
  const ran = (r: { exitCode?: number; signal?: string; stdout?: unknown; stderr?: unknown }): Ran => ({
    code: r.exitCode ?? (r.signal === 'SIGKILL' ? 137 : -1), out: String(r.stdout ?? ''), err: String(r.stderr ?? ''),
  });
  return {
    ns, dir, backend, hostOptions,
    file: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text, { mode: 0o600 });
      return p;
    },
    tool: async (args, o = {}) => ran(await execa(process.execPath, [BIN[o.family ?? 'ipv4'], ...args, ...hostOptions(o.tx ?? true)], {
      reject: false, stripFinalNewline: false, env: { ...o.env }, ...(o.input !== undefined ? { input: o.input } : { stdin: 'ignore' as const }),
    })),
    state: async (o = {}) => {
      const text = await save({ family: o.family ?? 'ipv4', backend, netns: ns.path, counters: o.counters, table: o.table });
      return o.counters ? text : text.replace(/\[\d+:\d+\]/g, '[0:0]');
    },
    ipt: async (args) => ran(await execa('nsenter', [`--net=${ns.path}`, '--', `iptables-${backend}`, '-w', ...args], { reject: false })),
  };
}
