// Round trip: for every real iptables-save capture we hold, parse then write reproduces the
// file byte for byte, apart from the `#` comment lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseRuleset } from '../../src/core/parse.js';
import { writeRuleset } from '../../src/core/write.js';
import { fixturesDir, saveCaptures, withoutComments } from '../helpers/fixtures.js';

const captures = saveCaptures();

test('the capture corpus is all there (moby layouts 28.0–29.7 at least)', () => {
  assert.ok(captures.length >= 613, `only ${captures.length} captures found`);
  assert.ok(captures.some((c) => c.family === 'ipv6'));
});

test('parse → write reproduces every capture byte for byte', () => {
  const failures: string[] = [];
  for (const { path, family } of captures) {
    const text = readFileSync(path, 'utf8');
    // An engine that put nothing in ip6tables leaves an empty save: nothing to round-trip.
    if (withoutComments(text).trim() === '') continue;
    const { ruleset, warnings } = parseRuleset(text, { file: path, family });
    if (warnings.length) failures.push(`${relative(fixturesDir, path)}: unexpected warnings`);
    if (writeRuleset(ruleset) !== withoutComments(text)) failures.push(relative(fixturesDir, path));
  }
  assert.deepEqual(failures, []);
});

test('counters survive the round trip exactly, 64-bit values included', () => {
  const text = '*filter\n:INPUT ACCEPT [18446744073709551615:18446744073709551615]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [3:180]\n[18446744073709551615:9] -A INPUT -j ACCEPT\nCOMMIT\n';
  assert.equal(writeRuleset(parseRuleset(text, { file: 'c', family: 'ipv4' }).ruleset), text);
});

test('a hand-written file is written in iptables-save order (built-ins, then user chains by strcmp)', () => {
  const text = '*filter\n:zeta - [0:0]\n:Alpha - [0:0]\n-A zeta -j RETURN\n-A OUTPUT -j Alpha\n-A INPUT -j zeta\nCOMMIT\n';
  const expected = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:Alpha - [0:0]\n:zeta - [0:0]\n-A INPUT -j zeta\n-A OUTPUT -j Alpha\n-A zeta -j RETURN\nCOMMIT\n';
  assert.equal(writeRuleset(parseRuleset(text, { file: 'h', family: 'ipv4' }).ruleset), expected);
});

test('trusted parsing (kernel-printed text) gives the same rules and targets as the full parser', () => {
  const differences: string[] = [];
  for (const { path, family } of captures) {
    const text = readFileSync(path, 'utf8');
    if (withoutComments(text).trim() === '') continue;
    const full = parseRuleset(text, { file: path, family }).ruleset;
    const fast = parseRuleset(text, { file: path, family, trusted: true }).ruleset;
    const shape = (rs: typeof full) =>
      [...rs.tables.values()].flatMap((t) => [...t.chains.values()].flatMap((c) => c.rules.map((r) => `${t.name} ${c.name} ${r.text} → ${r.target?.kind ?? '-'} ${r.target?.name ?? '-'} [${r.args.join('|')}]`)));
    if (JSON.stringify(shape(full)) !== JSON.stringify(shape(fast)) || writeRuleset(full) !== writeRuleset(fast)) differences.push(relative(fixturesDir, path));
  }
  assert.deepEqual(differences, []);
  const tricky = parseRuleset('*filter\n:X - [0:0]\n-A INPUT -j LOG --log-prefix -j\n-A INPUT -m comment --comment "a -j b" -g X\nCOMMIT\n', { file: 't', family: 'ipv4', trusted: true }).ruleset;
  assert.deepEqual(tricky.tables.get('filter')!.chains.get('INPUT')!.rules.map((r) => r.target), [{ kind: 'jump', name: 'LOG' }, { kind: 'goto', name: 'X' }]);
});
