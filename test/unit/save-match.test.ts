// apply's quick verification (core/save-match.ts): iptables-save's text against the ruleset
// written, without parsing it. It may say "differs" too often (the full way then runs), never
// "same" when anything that matters differs. The texts are real captures, edited by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseRuleset } from '../../src/core/parse.js';
import { matchSave } from '../../src/core/save-match.js';
import type { Ruleset } from '../../src/core/model.js';
import { fixture, saveCaptures } from '../helpers/fixtures.js';

/** The text pushed in pieces of varying sizes, as it arrives from iptables-save. */
function check(target: Ruleset, text: string, piece = 37): string | undefined {
  const m = matchSave(target);
  for (let i = 0, n = 1; i < text.length; i += n, n = (n * 7 + piece) % 4099 || 1) m.push(text.slice(i, i + n));
  return m.end();
}

const parse = (text: string, family: 'ipv4' | 'ipv6' = 'ipv4') => parseRuleset(text, { file: 'capture', family, trusted: true }).ruleset;

// docker 26 in the lab: raw, filter (three DOCKER chains) and nat, comments and all
const CAPTURE = readFileSync(fixture('lab', '26', 'default-bridge.oracle.v4.rules'), 'utf8');
const lines = CAPTURE.split('\n');
const edit = (f: (ls: string[]) => string[]) => f([...lines]).join('\n');
const at = (prefix: string) => {
  const i = lines.findIndex((l) => l.startsWith(prefix));
  assert.ok(i >= 0, `the capture has a line starting '${prefix}'`);
  return i;
};

test('every capture we hold matches the ruleset parsed from it, whatever the cuts', () => {
  const failures: string[] = [];
  let n = 0;
  for (const { path, family } of saveCaptures()) {
    const text = readFileSync(path, 'utf8');
    if (!/^\*/m.test(text)) continue;
    const diff = check(parse(text, family), text, n++ % 13);
    if (diff !== undefined) failures.push(`${path}: ${diff}`);
  }
  assert.ok(n > 100, `enough captures (${n})`);
  assert.deepEqual(failures, []);
});

test('a rule changed, missing, added or moved is a difference, named by table, chain and rule', () => {
  const target = parse(CAPTURE);
  const fwd = at('-A FORWARD ');
  const changed = edit((ls) => ((ls[fwd] += ' -m comment --comment x'), ls));
  assert.match(check(target, changed) ?? '', /^filter\/FORWARD rule 1: /);
  assert.match(check(target, edit((ls) => (ls.splice(fwd, 1), ls))) ?? '', /filter\/FORWARD/);
  assert.match(check(target, edit((ls) => (ls.splice(fwd, 0, ls[fwd]), ls))) ?? '', /filter\/FORWARD rule 2/);
  const swapped = edit((ls) => ([ls[fwd], ls[fwd + 1]] = [ls[fwd + 1], ls[fwd]], ls));
  assert.notEqual(lines[fwd], lines[fwd + 1], 'two different rules to swap');
  assert.match(check(target, swapped) ?? '', /filter\/FORWARD rule 1/);
});

test('a chain more or less, a table missing, or a policy the target sets are differences', () => {
  const target = parse(CAPTURE);
  const decl = at(':DOCKER-ISOLATION-STAGE-2 ');
  assert.match(check(target, edit((ls) => (ls.splice(decl, 0, ':EXTRA - [0:0]'), ls))) ?? '', /chain EXTRA is not in the target/);
  // a chain with no rules, gone
  const empty = parse(edit((ls) => (ls.splice(decl, 0, ':EMPTY - [0:0]'), ls)));
  assert.match(check(empty, CAPTURE) ?? '', /chain EMPTY is missing/);
  const start = at('*raw');
  const end = lines.indexOf('COMMIT', start);
  assert.match(check(target, edit((ls) => (ls.splice(start, end - start + 1), ls))) ?? '', /table raw is missing/);
  const drop = parse(CAPTURE);
  drop.tables.get('filter')!.chains.get('INPUT')!.policy = 'DROP';
  assert.match(check(drop, CAPTURE) ?? '', /INPUT policy ACCEPT, target DROP/);
  assert.match(check(target, CAPTURE + 'garbage\n') ?? '', /unexpected line/);
});

test('what is not compared: counters, user chains\' order, tables the target leaves alone, a policy it does not set', () => {
  const target = parse(CAPTURE);
  const counted = CAPTURE.replace(/^(:\S+ \S+) \[0:0\]$/gm, '$1 [12:3456]');
  assert.notEqual(counted, CAPTURE);
  assert.equal(check(target, counted), undefined);
  // legacy and nft print user chains (declarations and rules) in different orders
  const d1 = at(':DOCKER - ');
  const d2 = at(':DOCKER-ISOLATION-STAGE-2 ');
  const reordered = edit((ls) => ([ls[d1], ls[d2]] = [ls[d2], ls[d1]], ls));
  assert.equal(check(target, reordered), undefined);
  const onlyFilter: Ruleset = { family: 'ipv4', tables: new Map([['filter', target.tables.get('filter')!]]) };
  assert.equal(check(onlyFilter, CAPTURE), undefined);
  const unset = parse(CAPTURE.replace(':INPUT ACCEPT', ':INPUT -'));
  assert.equal(unset.tables.get('filter')!.chains.get('INPUT')!.policy, null);
  assert.equal(check(unset, CAPTURE.replace(':INPUT ACCEPT', ':INPUT DROP')), undefined);
});
