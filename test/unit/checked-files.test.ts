// A file that passed every check is parsed the quick way next time (src/checked-files.ts):
// only the exact same text, only when it had neither error nor warning, and with the same
// ruleset as the full parse gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseCheckedFile } from '../../src/checked-files.js';
import { parseRuleset } from '../../src/core/parse.js';
import { writeRuleset } from '../../src/core/write.js';
import { ParseError } from '../../src/errors.js';
import { fixture } from '../helpers/fixtures.js';
import { requireRoot } from '../helpers/root.js';

const RHEL = readFileSync(fixture('rhel-iptables-services.rules'), 'utf8');
const digest = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

function withStateDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'isr-checked-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const parseIn = (dir: string | undefined, text: string, file = 'rules') =>
  parseCheckedFile(text, { file, family: 'ipv4', digest: digest(text), stateDir: dir });

test('the same text again: parsed the quick way, to exactly the ruleset the full parse gives', (t) => {
  if (!requireRoot(t)) return;
  withStateDir((dir) => {
    const first = parseIn(dir, RHEL);
    assert.equal(first.quick, false);
    const mark = statSync(join(dir, 'cache', 'checked-files'));
    assert.equal(mark.mode & 0o777, 0o600);
    const again = parseIn(dir, RHEL);
    assert.equal(again.quick, true);
    const full = parseRuleset(RHEL, { file: 'rules', family: 'ipv4' }).ruleset;
    assert.equal(writeRuleset(again.ruleset), writeRuleset(full));
    const rules = (rs: typeof full) => [...rs.tables.values()].flatMap((tb) => [...tb.chains.values()].flatMap((c) => c.rules.map((r) => [r.chain, r.text, r.target?.name, r.source?.line])));
    assert.deepEqual(rules(again.ruleset), rules(full));
    assert.ok(rules(full).length > 5, 'the fixture has rules');
  });
});

test('a text with a warning or an error is never remembered; an edited text is checked in full', (t) => {
  if (!requireRoot(t)) return;
  withStateDir((dir) => {
    const old = RHEL.replace('-A INPUT -p icmp -j ACCEPT', '-A INPUT -p tcp --dport ! 22 -j ACCEPT');
    assert.notEqual(old, RHEL, 'the fixture has the rule edited here');
    for (let i = 0; i < 2; i++) {
      const r = parseIn(dir, old);
      assert.equal(r.quick, false);
      assert.match(r.warnings[0]?.reason ?? '', /old-style negation/);
    }
    const bad = RHEL.replace('-A INPUT -p icmp -j ACCEPT', '-A INPUT -p icmp -j NOSUCHCHAIN');
    for (let i = 0; i < 2; i++) assert.throws(() => parseIn(dir, bad), ParseError);
    parseIn(dir, RHEL);
    assert.equal(parseIn(dir, RHEL).quick, true);
    // one byte more, and an error in it: the full checks run and report it
    assert.throws(() => parseIn(dir, RHEL.replace('COMMIT', '-A INPUT -j NOSUCHCHAIN\nCOMMIT')), ParseError);
  });
});

test('never quick without a state directory or for a --noflush replay; at most 32 texts remembered', (t) => {
  if (!requireRoot(t)) return;
  withStateDir((dir) => {
    parseIn(undefined, RHEL);
    assert.equal(parseIn(undefined, RHEL).quick, false);
    parseIn(dir, RHEL);
    const base = parseRuleset(RHEL, { file: 'live', family: 'ipv4' }).ruleset;
    assert.equal(parseCheckedFile(RHEL, { file: 'rules', family: 'ipv4', digest: digest(RHEL), stateDir: dir, base }).quick, false);
    for (let i = 0; i < 40; i++) parseIn(dir, `${RHEL}# ${i}\n`);
    const kept = readFileSync(join(dir, 'cache', 'checked-files'), 'utf8').trim().split('\n');
    assert.equal(kept.length, 32);
    assert.equal(parseIn(dir, `${RHEL}# 39\n`).quick, true, 'the newest is kept');
    assert.equal(parseIn(dir, RHEL).quick, false, 'the oldest was dropped');
  });
});

test('a program that checks differently (the parser rebuilt, even at the same version) checks afresh', (t) => {
  if (!requireRoot(t)) return;
  const validate = fileURLToPath(new URL('../../src/core/validate.js', import.meta.url));
  const was = statSync(validate);
  withStateDir((dir) => {
    parseIn(dir, RHEL);
    assert.equal(parseIn(dir, RHEL).quick, true);
    try {
      utimesSync(validate, was.atime, new Date(was.mtimeMs + 1000));
      assert.equal(parseIn(dir, RHEL).quick, false);
      assert.equal(parseIn(dir, RHEL).quick, true, 'remembered afresh for this program');
    } finally {
      utimesSync(validate, was.atime, was.mtime);
    }
  });
});
