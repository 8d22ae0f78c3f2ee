// The pure plan: per-chain diffs, policies, digests, and the line diff behind them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleset } from '../../src/core/parse.js';
import { liveDigest, planDiff } from '../../src/core/plan.js';
import { diffLines } from '../../src/core/line-diff.js';

const rs = (text: string) => parseRuleset(text, { file: 't', family: 'ipv4' }).ruleset;

test('chains added, removed and changed; rules counted; policy changes reported', () => {
  const live = rs('*filter\n:INPUT ACCEPT [9:9]\n:OLD - [0:0]\n:KEEP - [0:0]\n-A INPUT -j OLD\n-A OLD -j DROP\n-A KEEP -j RETURN\nCOMMIT\n');
  const target = rs('*filter\n:INPUT DROP [0:0]\n:NEW - [0:0]\n:KEEP - [0:0]\n-A INPUT -j NEW\n-A NEW -j ACCEPT\n-A KEEP -j RETURN\nCOMMIT\n');
  const d = planDiff(live, target);
  assert.equal(d.changes, true);
  const t = d.tables[0];
  assert.deepEqual(t.chainsAdded, ['NEW']);
  assert.deepEqual(t.chainsRemoved, ['OLD']);
  assert.deepEqual(t.chainsChanged, ['INPUT']);
  assert.equal(t.rulesAdded, 2);
  assert.equal(t.rulesRemoved, 2);
  assert.deepEqual(t.chains.find((c) => c.chain === 'INPUT')!.policy, { from: 'ACCEPT', to: 'DROP' });
});

test('identical rulesets: no changes; counters and an undeclared policy are not changes', () => {
  const live = rs('*filter\n:INPUT DROP [123:456]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n');
  const target = rs('*filter\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n');
  target.tables.get('filter')!.chains.get('INPUT')!.policy = null;
  assert.deepEqual(planDiff(live, target), { tables: [{ table: 'filter', chains: [], chainsAdded: [], chainsRemoved: [], chainsChanged: [], rulesAdded: 0, rulesRemoved: 0 }], changes: false });
});

test('a table absent from live: its built-in chains count as empty with ACCEPT policies', () => {
  const d = planDiff(rs('*filter\nCOMMIT\n'), rs('*raw\n-A PREROUTING -s 10.0.0.1/32 -j DROP\nCOMMIT\n'));
  assert.equal(d.tables[0].table, 'raw');
  assert.deepEqual(d.tables[0].chainsChanged, ['PREROUTING']);
  assert.equal(d.tables[0].rulesAdded, 1);
  assert.equal(d.tables[0].chains[0].policy, undefined);
});

test('the live digest ignores counters and untouched tables, and changes with any rule or policy', () => {
  const a = rs('*filter\n:INPUT ACCEPT [1:2]\n-A INPUT -j ACCEPT\nCOMMIT\n*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n');
  const b = rs('*filter\n:INPUT ACCEPT [99:99]\n[5:5] -A INPUT -j ACCEPT\nCOMMIT\n*nat\nCOMMIT\n');
  assert.equal(liveDigest(a, ['filter']), liveDigest(b, ['filter']));
  assert.notEqual(liveDigest(a, ['filter', 'nat']), liveDigest(b, ['filter', 'nat']));
  assert.notEqual(liveDigest(a, ['filter']), liveDigest(rs('*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n'), ['filter']));
  assert.match(liveDigest(a, ['filter']), /^sha256:[0-9a-f]{64}$/);
});

test('line diff: random edits always reconstruct both sides; small changes give the shortest edit', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let n = 0; n < 300; n++) {
    const a = Array.from({ length: Math.floor(rnd() * 60) }, () => `r${Math.floor(rnd() * 20)}`);
    const b = a.filter(() => rnd() > 0.2).flatMap((x) => (rnd() > 0.8 ? [x, `new${Math.floor(rnd() * 5)}`] : [x]));
    const runs = diffLines(a, b);
    assert.deepEqual(runs.filter((r) => r.op !== '+').flatMap((r) => r.lines), a);
    assert.deepEqual(runs.filter((r) => r.op !== '-').flatMap((r) => r.lines), b);
  }
  assert.deepEqual(diffLines(['a', 'b', 'c', 'd'], ['a', 'c', 'd', 'e']), [
    { op: ' ', lines: ['a'] }, { op: '-', lines: ['b'] }, { op: ' ', lines: ['c', 'd'] }, { op: '+', lines: ['e'] },
  ]);
});

test('line diff at 100k lines with half of them changed still gives a correct edit (anchors + gaps)', () => {
  const a = Array.from({ length: 100_000 }, (_, i) => `-A C -s 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32 -j ACCEPT`);
  const b = a.map((x, i) => (i % 2 ? x.replace('ACCEPT', 'DROP') : x));
  const runs = diffLines(a, b);
  assert.equal(runs.filter((r) => r.op === '-').reduce((s, r) => s + r.lines.length, 0), 50_000);
  assert.equal(runs.filter((r) => r.op === '+').reduce((s, r) => s + r.lines.length, 0), 50_000);
  assert.deepEqual(runs.filter((r) => r.op !== '-').flatMap((r) => r.lines), b);
});
