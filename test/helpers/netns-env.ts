// The tests that change firewall state (apply, confirm): the throwaway Docker host of
// netns-host.ts (a real Docker 20.10 capture in a namespace) with the user's files written and
// the CLI run against it, each command with the options it takes. Also the Docker-like writer
// (docker-writer.ts) run against that namespace.
import { execa } from 'execa';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from '../../src/io/netns.js';
import { isVerbInvocation } from '../../src/twin-args.js';
import { repoRoot } from './fixtures.js';
import { BIN, dockerHost } from './netns-host.js';

export const BIN4 = BIN.ipv4;

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

/** The namespace of netns-host.ts (a Docker 20.10 capture loaded) with the user's files written. */
export async function setup(backend: 'nft' | 'legacy', t: { after: (f: () => Promise<void> | void) => void }, purpose = 'applytest'): Promise<Env> {
  const h = await dockerHost(backend, t, purpose);
  const files = {
    v4: h.file('rules.v4', USER4),
    v6: h.file('rules.v6', USER6),
    v4b: h.file('rules-b.v4', USER4.replace('-A SSH -s 10.0.0.0/8 -j ACCEPT', '-A SSH -s 10.0.0.0/8 -j ACCEPT\n-A SSH -s 192.168.0.0/16 -j ACCEPT')),
  };
  const state = ['--state-dir', join(h.dir, 'state')];
  // the options each kind of command takes: the lock only where the kernel may change
  const optionsFor = (args: string[]): string[] => {
    if (['history', 'confirm'].includes(args[0])) return state;
    const changes = !isVerbInvocation(args) || ['apply', 'rollback', 'recover', 'stop', 'reconcile'].includes(args[0]);
    return [...h.hostOptions(false), ...state, ...(changes ? ['--lock-file', join(h.dir, 'lock')] : [])];
  };
  return {
    ns: h.ns, dir: h.dir, backend, files,
    cli: async (args, env = {}) => {
      const r = await execa(process.execPath, [BIN4, ...args, ...optionsFor(args)], { reject: false, env: { ...env } });
      return { code: r.exitCode ?? (r.signal === 'SIGKILL' ? 137 : -1), out: String(r.stdout), err: String(r.stderr) };
    },
    // the live ruleset without counters, for comparing before / after
    state: (family = 'ipv4') => h.state({ family }),
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
