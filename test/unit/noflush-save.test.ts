// The pure halves of the twin's -n and of `save`: replaying a file on the live ruleset as
// iptables-restore --noflush does (parse.ts `base`), and the user's part of a live ruleset
// (core/user-part.ts) — which, restored, must give back exactly the live ruleset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseRuleset } from '../../src/core/parse.js';
import { classify } from '../../src/core/classify.js';
import { strip } from '../../src/core/strip.js';
import { merge } from '../../src/core/merge.js';
import { learnDockerFacts } from '../../src/core/facts.js';
import { selectProfiles } from '../../src/core/owners/index.js';
import { userPart } from '../../src/core/user-part.js';
import { writeRuleset } from '../../src/core/write.js';
import type { Ruleset } from '../../src/core/model.js';
import { ctime } from '../../src/commands/save.js';
import { ParseError } from '../../src/errors.js';
import { fixture, saveCaptures, withoutComments } from '../helpers/fixtures.js';

const profiles = selectProfiles();
const parse = (text: string, base?: Ruleset) => parseRuleset(text, { file: 'f', family: 'ipv4', base }).ruleset;

/** The live ruleset: Docker 20.10's default bridge, plus rules and a chain of the user's. */
const LIVE = withoutComments(readFileSync(fixture('lab', '20.10', 'default-bridge.v4.rules'), 'utf8'))
  .replace(':DOCKER-USER - [0:0]', ':DOCKER-USER - [0:0]\n:MINE - [0:0]')
  .replace('-A FORWARD -j DOCKER-USER', '-A INPUT -i lo -j ACCEPT\n-A INPUT -j MINE\n-A FORWARD -j DOCKER-USER')
  .replace('-A DOCKER-USER -j RETURN', '-A DOCKER-USER -j RETURN\n-A MINE -s 10.0.0.1/32 -j ACCEPT\n-A MINE -s 10.0.0.2/32 -j ACCEPT');

/** The target of restoring `file` (with --noflush when noflush) over `liveText`. */
function target(file: string, liveText: string, noflush: boolean): Ruleset {
  const live = parse(liveText);
  const user = parse(file, noflush ? live : undefined);
  const facts = learnDockerFacts({ live: [live], files: [user] });
  return merge(strip(user, classify(user, profiles, facts)), live, classify(live, profiles, facts), facts).target;
}

const rules = (rs: Ruleset, table: string, chain: string) => rs.tables.get(table as 'filter')?.chains.get(chain)?.rules.map((r) => r.text);

test('--noflush: -A appends to the live chain, -I N and -D count live rules, Docker untouched', () => {
  const t = target('*filter\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-I MINE 2 -s 10.0.0.9/32 -j ACCEPT\n-D MINE -s 10.0.0.1/32 -j ACCEPT\nCOMMIT\n', LIVE, true);
  assert.deepEqual(rules(t, 'filter', 'INPUT'), ['-i lo -j ACCEPT', '-j MINE', '-p tcp -m tcp --dport 22 -j ACCEPT']);
  assert.deepEqual(rules(t, 'filter', 'MINE'), ['-s 10.0.0.9/32 -j ACCEPT', '-s 10.0.0.2/32 -j ACCEPT']);
  assert.deepEqual(rules(t, 'filter', 'FORWARD'), rules(parse(LIVE), 'filter', 'FORWARD'));
  assert.deepEqual(rules(t, 'filter', 'DOCKER'), ['-d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT']);
  assert.equal(t.tables.has('nat'), false, 'a table the file does not name is left alone');
  assert.equal(t.tables.get('filter')!.chains.get('FORWARD')!.policy, 'DROP', 'the live policy stays');
});

test('--noflush: declaring an existing user chain flushes it; a built-in declaration sets only the policy', () => {
  const t = target('*filter\n:INPUT DROP [0:0]\n:MINE - [0:0]\n-A MINE -s 10.0.0.3/32 -j ACCEPT\nCOMMIT\n', LIVE, true);
  assert.deepEqual(rules(t, 'filter', 'INPUT'), ['-i lo -j ACCEPT', '-j MINE'], 'INPUT keeps its rules');
  assert.equal(t.tables.get('filter')!.chains.get('INPUT')!.policy, 'DROP');
  assert.deepEqual(rules(t, 'filter', 'MINE'), ['-s 10.0.0.3/32 -j ACCEPT']);
  assert.throws(() => parse('*filter\n:MINE - [0:0]\n:MINE - [0:0]\nCOMMIT\n', parse(LIVE)), (e: unknown) =>
    e instanceof ParseError && /f:3: chain 'MINE' declared twice \(first at line 2\)/.test(e.message));
  assert.throws(() => parse('*filter\n-N MINE\nCOMMIT\n', parse(LIVE)), /chain 'MINE' already exists/);
});

test("--noflush never removes what Docker owns, even when the file says so", () => {
  const t = target('*filter\n-D FORWARD -j DOCKER-USER\n-F DOCKER\n-F DOCKER-ISOLATION-STAGE-2\nCOMMIT\n*nat\n-F\nCOMMIT\n', LIVE, true);
  const live = parse(LIVE);
  for (const [table, chain] of [['filter', 'FORWARD'], ['filter', 'DOCKER'], ['filter', 'DOCKER-ISOLATION-STAGE-2'], ['nat', 'POSTROUTING'], ['nat', 'DOCKER'], ['nat', 'PREROUTING']]) {
    assert.deepEqual(rules(t, table, chain), rules(live, table, chain), `${table}/${chain}`);
  }
  assert.deepEqual(rules(t, 'filter', 'MINE'), rules(live, 'filter', 'MINE'), "the user's chain the file does not touch stays");
});

test('without --noflush the file replaces the user part; without a base, -A to a live chain is an error', () => {
  const t = target('*filter\n:MINE - [0:0]\n-A INPUT -j MINE\nCOMMIT\n', LIVE, false);
  assert.deepEqual(rules(t, 'filter', 'INPUT'), ['-j MINE']);
  assert.deepEqual(rules(t, 'filter', 'MINE'), []);
  assert.throws(() => parse('*filter\n-A MINE -j ACCEPT\nCOMMIT\n'), /chain 'MINE' does not exist/);
  assert.equal(rules(parse('*filter\n-A MINE -j ACCEPT\nCOMMIT\n', parse(LIVE)), 'filter', 'MINE')!.length, 3);
});

/** save, then restore what was saved: the target must be the live ruleset, table by table. */
function roundTrip(liveText: string): { saved: string; live: Ruleset; after: Ruleset } {
  const live = parse(liveText);
  const facts = learnDockerFacts({ live: [live] });
  const saved = writeRuleset(userPart(live, classify(live, profiles, facts)).ruleset);
  return { saved, live, after: target(saved, liveText, false) };
}

const asText = (rs: Ruleset) => writeRuleset(rs).replace(/\[\d+:\d+\]/g, '[0:0]');

test("save: the user's part only, with policies and DOCKER-USER's user rules; restoring it changes nothing", () => {
  const live = LIVE.replace('-A DOCKER-USER -j RETURN', '-A DOCKER-USER -s 203.0.113.0/24 -j DROP\n-A DOCKER-USER -j RETURN');
  const { saved, live: rs, after } = roundTrip(live);
  assert.equal(saved, [
    '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':DOCKER-USER - [0:0]', ':MINE - [0:0]',
    '-A INPUT -i lo -j ACCEPT', '-A INPUT -j MINE', '-A DOCKER-USER -s 203.0.113.0/24 -j DROP', '-A DOCKER-USER -j RETURN',
    '-A MINE -s 10.0.0.1/32 -j ACCEPT', '-A MINE -s 10.0.0.2/32 -j ACCEPT', 'COMMIT',
    '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', 'COMMIT', '',
  ].join('\n'));
  assert.equal(asText(after), asText(rs));
});

test('save: an owned chain a user rule jumps to is declared empty, so the file loads; it round-trips', () => {
  const live = LIVE.replace('-A MINE -s 10.0.0.2/32 -j ACCEPT', '-A MINE -s 10.0.0.2/32 -j ACCEPT\n-A MINE -j DOCKER');
  const { saved, live: rs, after } = roundTrip(live);
  assert.match(saved, /^:DOCKER - \[0:0\]$/m);
  assert.doesNotMatch(saved, /^-A DOCKER /m);
  assert.equal(asText(after), asText(rs));
});

test('save round-trips on every lab capture, after the tool applied user rules to it', () => {
  const captures = saveCaptures().filter((c) => c.path.includes('/lab/') && !c.path.includes('.oracle.') && c.family === 'ipv4');
  assert.ok(captures.length >= 10, `${captures.length} lab captures`);
  const file = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OLD - [0:0]\n-A INPUT -j OLD\n-A OLD -s 198.51.100.0/24 -j DROP\n' +
    '-A FORWARD -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth9 -j MASQUERADE\nCOMMIT\n';
  for (const c of captures) {
    const capture = withoutComments(readFileSync(c.path, 'utf8'));
    if (!capture.includes('*filter') || !capture.includes('*nat')) continue;
    // the live ruleset as the tool leaves it: the file applied on the Docker host
    const live = writeRuleset(target(file, capture, false));
    const { saved, live: rs, after } = roundTrip(live);
    assert.doesNotMatch(saved, /DOCKER-(FORWARD|ISOLATION|BRIDGE|CT)|docker0|DNAT/, c.path);
    assert.match(saved, /^-A OLD -s 198\.51\.100\.0\/24 -j DROP$/m, c.path);
    assert.equal(asText(after), asText(rs), c.path);
  }
});

test("save's comment lines and date are iptables-save's", () => {
  const d = new Date(2025, 11, 6, 9, 4, 5);
  assert.equal(ctime(d), 'Sat Dec  6 09:04:05 2025');
  const out = writeRuleset(parse('*filter\nCOMMIT\n*nat\nCOMMIT\n'), { comments: { by: 'X', date: 'D' } });
  assert.match(out, /^# Generated by X on D\n\*filter\n[\s\S]*COMMIT\n# Completed on D\n# Generated by X on D\n\*nat\n[\s\S]*COMMIT\n# Completed on D\n$/);
});
