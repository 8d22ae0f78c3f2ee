// iptables-restore's rule-level options the twin follows (issue 23), offline: `-4`/`-6` tags
// skip the other family's lines (also for explain), and counters written in a rule reach the
// restore input even without --counters. What the kernel does with them is checked against the
// real iptables-restore in test/integration/twin-compat.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRuleset } from '../../src/core/parse.js';
import { restoreInputs } from '../../src/core/restore-input.js';
import type { Family, Ruleset } from '../../src/core/model.js';
import { BIN } from '../helpers/netns-host.js';

const FILE = `*filter
:FORWARD ACCEPT [0:0]
-4 -A FORWARD -d 10.0.0.1 -j ACCEPT
-6 -A FORWARD -d fec0:10::1 -j ACCEPT
-A FORWARD -d 10.0.0.3 --ipv4 -j ACCEPT
-A FORWARD -m comment --comment "-6 is only text here" -j ACCEPT
COMMIT
`;

const rules = (rs: Ruleset) => rs.tables.get('filter')!.chains.get('FORWARD')!.rules.map((r) => r.text);

test('a line tagged for the other family is skipped and listed; a quoted -6 is text', () => {
  const v4 = parseRuleset(FILE, { file: 'f', family: 'ipv4' });
  assert.deepEqual(rules(v4.ruleset), ['-d 10.0.0.1 -j ACCEPT', '-d 10.0.0.3 -j ACCEPT', '-m comment --comment "-6 is only text here" -j ACCEPT']);
  assert.deepEqual(v4.skipped.map((s) => [s.line, s.family, s.table]), [[4, 'ipv6', 'filter']]);
  const v6 = parseRuleset(FILE, { file: 'f', family: 'ipv6' });
  assert.deepEqual(rules(v6.ruleset), ['-d fec0:10::1 -j ACCEPT', '-m comment --comment "-6 is only text here" -j ACCEPT']);
  assert.deepEqual(v6.skipped.map((s) => s.line), [3, 5]);
});

test('counters in the rule are written with -c even without --counters; a prefix only with it; both at once refused with it', () => {
  const text = '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m mark --mark 0x1 -c 1 2\n[7:8] -A FORWARD -m mark --mark 0x2\n';
  const empty: Ruleset = { family: 'ipv4', tables: new Map() };
  const own = { ownedChains: () => new Set<string>(), isOwnedRule: () => false };
  const input = (counters: boolean) => restoreInputs(empty, parseRuleset(text + 'COMMIT\n', { file: 'f', family: 'ipv4', counters }).ruleset, own, { counters })[0].input;
  assert.match(input(false), /^-c 1 2 -A FORWARD -m mark --mark 0x1$/m);
  assert.match(input(false), /^-A FORWARD -m mark --mark 0x2$/m);
  assert.match(input(true), /^\[7:8\] -A FORWARD -m mark --mark 0x2$/m);
  const both = text.replace('[7:8] -A FORWARD -m mark --mark 0x2', '[7:8] -A FORWARD -m mark --mark 0x2 -c 3 4') + 'COMMIT\n';
  assert.equal(rules(parseRuleset(both, { file: 'f', family: 'ipv4' }).ruleset).length, 2);
  assert.throws(() => parseRuleset(both, { file: 'f', family: 'ipv4', counters: true }), /f:4: multiple -c flags not allowed/);
});

for (const family of ['ipv4', 'ipv6'] as Family[]) {
  test(`explain (${family}) lists the other family's lines as skipped`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'isr-explain-tags-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'rules');
    const live = join(dir, 'live');
    writeFileSync(file, FILE, { mode: 0o600 });
    writeFileSync(live, '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n', { mode: 0o600 });
    const r = await execa(process.execPath, [BIN[family], 'explain', '--live-from', live, '--docker-socket', '/nonexistent/sock', '--netns', '/nonexistent/netns', file], { reject: false, stdin: 'ignore' });
    assert.equal(r.exitCode, 0, r.stderr);
    const skipped = r.stdout.split('\n').filter((l) => /^\s+\d+\s+skipped /.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.deepEqual(skipped, family === 'ipv4' ? [4] : [3, 5]);
  });
}
