// A throwaway network namespace holding a real Docker 20.10 capture (test/fixtures/lab), a
// temp state directory, the user's files, and the CLI run against them — for the tests that
// change firewall state (apply, confirm). Also the Docker-like writer (docker-writer.ts) run
// against that namespace.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createNetns, deleteNetns, type Netns } from '../../src/io/netns.js';
import { restore, save } from '../../src/io/iptables.js';
import { fixture, repoRoot, withoutComments } from './fixtures.js';

export const BIN4 = join(repoRoot, 'bin', 'iptables-safe-restore');
const LIVE4 = withoutComments(readFileSync(fixture('lab', '20.10', 'ipv6.v4.rules'), 'utf8'));
const LIVE6 = withoutComments(readFileSync(fixture('lab', '20.10', 'ipv6.v6.rules'), 'utf8'));

const USER4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SSH - [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22 -j SSH
-A SSH -s 10.0.0.0/8 -j ACCEPT
-A FORWARD -s 203.0.113.0/24 -j DROP
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth9 -j MASQUERADE
COMMIT
`;
const USER6 = `*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
`;

export interface Env {
  ns: Netns;
  dir: string;
  backend: 'nft' | 'legacy';
  files: { v4: string; v6: string; v4b: string };
  cli: (args: string[], env?: Record<string, string>) => Promise<{ code: number; out: string; err: string }>;
  state: (family?: 'ipv4' | 'ipv6') => Promise<string>;
}

export async function setup(backend: 'nft' | 'legacy', t: { after: (f: () => Promise<void> | void) => void }): Promise<Env> {
  const ns = await createNetns('applytest');
  const dir = mkdtempSync(join(tmpdir(), 'isr-apply-'));
  t.after(async () => {
    await deleteNetns(ns);
    rmSync(dir, { recursive: true, force: true });
  });
  await restore(LIVE4, { family: 'ipv4', backend, netns: ns.path });
  await restore(LIVE6, { family: 'ipv6', backend, netns: ns.path });
  const files = { v4: join(dir, 'rules.v4'), v6: join(dir, 'rules.v6'), v4b: join(dir, 'rules-b.v4') };
  writeFileSync(files.v4, USER4);
  writeFileSync(files.v6, USER6);
  writeFileSync(files.v4b, USER4.replace('-A SSH -s 10.0.0.0/8 -j ACCEPT', '-A SSH -s 10.0.0.0/8 -j ACCEPT\n-A SSH -s 192.168.0.0/16 -j ACCEPT'));
  const common = ['--netns', ns.path, '--backend', backend, '--state-dir', join(dir, 'state'), '--docker-socket', '/nonexistent/sock'];
  return {
    ns, dir, backend, files,
    cli: async (args, env = {}) => {
      const isTx = ['apply', 'rollback', 'recover'].includes(args[0]);
      const stateOnly = ['history', 'confirm'].includes(args[0]);
      const opts = stateOnly ? common.slice(4, 6) : [...common, ...(isTx ? ['--lock-file', join(dir, 'lock')] : [])];
      const r = await execa(process.execPath, [BIN4, ...args, ...opts], { reject: false, env: { ...env } });
      return { code: r.exitCode ?? (r.signal === 'SIGKILL' ? 137 : -1), out: String(r.stdout), err: String(r.stderr) };
    },
    // the live ruleset without counters, for comparing before / after
    state: async (family = 'ipv4') => (await save({ family, backend, netns: ns.path })).replace(/\[\d+:\d+\]/g, '[0:0]'),
  };
}

export interface Writer {
  /** Stop it; the rules it left in place, as iptables-save prints them: table and `-A CHAIN …` line. */
  stop(): Promise<Array<{ table: string; line: string }>>;
}

/** Start the Docker-like writer on the namespace (a rule set added or removed every 50 ms). */
export function startDockerWriter(e: Env, maxMs = 600_000): Writer {
  const left = join(e.dir, 'writer-left');
  const stopFile = join(e.dir, 'writer-stop');
  rmSync(stopFile, { force: true });
  const writer = execa(process.execPath, [join(repoRoot, 'dist', 'test', 'helpers', 'docker-writer.js'), e.ns.path, e.backend, String(maxMs), left, stopFile], { reject: false });
  return {
    stop: async () => {
      writeFileSync(stopFile, '');
      await writer;
      return readFileSync(left, 'utf8').split('\n').filter(Boolean).map((l) => {
        const [table, chain, ...spec] = l.split(' ');
        return { table, line: `-A ${chain} ${spec.join(' ')}` };
      });
    },
  };
}
