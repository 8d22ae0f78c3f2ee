// The twin against the real iptables-restore 1.8.9, the way iptables' own restore tests drive
// it: the same file goes to `iptables-restore` in one empty namespace and to the twin in
// another, and the two namespaces must end with the same ruleset, counters included, on the nft
// and the legacy backend, for both families:
//   - rules tagged `-4`/`--ipv4`/`-6`/`--ipv6` anywhere in the line: the other family's skipped;
//   - counters written in a rule (`-c P B`, `--set-counters`): set even without --counters
//     (ip6tables-nft 1.8.9 ignores them, and so does the twin through it); a `[P:B]` prefix
//     only with --counters, and both at once refused with --counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, deleteNetns } from '../../src/io/netns.js';
import { save } from '../../src/io/iptables.js';
import type { Family } from '../../src/core/model.js';
import { requireRoot } from '../helpers/root.js';
import { BIN } from '../helpers/netns-host.js';

const TAGGED = `*filter
:FORWARD ACCEPT [0:0]
-4 -A FORWARD -d 10.0.0.1 -j ACCEPT
-6 -A FORWARD -d fec0:10::1 -j ACCEPT
-A FORWARD -6 -d fec0:10::2 -j ACCEPT
-A FORWARD -d 10.0.0.3 -4 -j ACCEPT
--ipv6 -A FORWARD -s fec0::3 -j DROP
--ipv4 -N V4ONLY
-4 -A V4ONLY -s 10.9.0.0/16 -j RETURN
-A FORWARD -p tcp --dport 22 -j ACCEPT
COMMIT
`;

const COUNTERS = `*filter
:FORWARD ACCEPT [0:0]
-A FORWARD -m mark --mark 0x1 -c 1 2
-A FORWARD -m mark --mark 0x2 -j ACCEPT --set-counters 5 6
[7:8] -A FORWARD -m mark --mark 0x3 -j ACCEPT
[9:10] -A FORWARD -m mark --mark 0x4 -c 11 12
-I FORWARD 1 -m mark --mark 0x5 -c 13 14
COMMIT
`;

const tool = (f: Family, b: string) => `${f === 'ipv4' ? 'iptables' : 'ip6tables'}-${b}-restore`;

interface Ran {
  code: number;
  err: string;
  state: string;
}

/** The file through `run` in a fresh empty namespace; its ruleset after (with counters), then the namespace is gone. */
async function inFreshNs(purpose: string, run: (nsPath: string) => Promise<{ exitCode?: number; stderr?: unknown }>, family: Family, backend: 'nft' | 'legacy'): Promise<Ran> {
  const ns = await createNetns(purpose);
  try {
    const r = await run(ns.path);
    const state = withoutEmptyTables((await save({ family, backend, netns: ns.path, counters: true })).split('\n').filter((l) => l && !l.startsWith('#')).join('\n'));
    return { code: r.exitCode ?? -1, err: String(r.stderr ?? ''), state };
  } finally {
    await deleteNetns(ns);
  }
}

/**
 * A table holding only built-in chains with policy ACCEPT and no rule filters nothing: legacy's
 * iptables-restore leaves such a table behind when it fails half-way (the kernel module loaded
 * the table), where the twin, failing before it writes, leaves none.
 */
function withoutEmptyTables(state: string): string {
  return state.split(/(?=^\*)/m).filter((block) => !/^\*\w+\n(:[A-Z]+ ACCEPT \[0:0\]\n)+COMMIT\s*$/.test(block + '\n')).join('').trim();
}

for (const backend of ['nft', 'legacy'] as const) {
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const [name, text, opts] of [['tagged', TAGGED, []], ['counters', COUNTERS, []], ['counters, -c', COUNTERS, ['-c']]] as const) {
      test(`[${backend}] ${family} ${name}: the twin leaves what ${tool(family, backend)} leaves`, async (t) => {
        if (!requireRoot(t)) return;
        const dir = mkdtempSync(join(tmpdir(), 'isr-twin-compat-'));
        t.after(() => rmSync(dir, { recursive: true, force: true }));
        const file = join(dir, 'rules');
        writeFileSync(file, text, { mode: 0o600 });
        const real = await inFreshNs('compat-real', (ns) => execa('nsenter', [`--net=${ns}`, '--', tool(family, backend), ...opts, file], { reject: false }), family, backend);
        const twin = await inFreshNs('compat-twin', (ns) => execa(process.execPath, [
          BIN[family], ...opts, '--netns', ns, '--backend', backend, '--docker-socket', '/nonexistent/sock',
          '--state-dir', join(dir, 'state'), '--lock-file', join(dir, 'lock'), file,
        ], { reject: false, stdin: 'ignore' }), family, backend);
        // iptables-restore exits 2 on a parameter problem, the twin 1 on every failure (man page, COMPATIBILITY)
        assert.equal(twin.code === 0, real.code === 0, `exit status ${twin.code} vs ${real.code} (real: ${real.err.trim()} / twin: ${twin.err.trim()})`);
        assert.equal(twin.state, real.state);
        if (real.code === 0) assert.match(real.state, /-A FORWARD/, 'the comparison is not of two empty rulesets');
        else assert.match(twin.err, /multiple -c flags/);
      });
    }
  }
}
