// The pieces that let the live ruleset be parsed while iptables-save writes it, and a large
// ruleset be hashed and written without ever being whole in memory: each must give exactly
// what the whole-text path gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParser, parseRuleset } from '../../src/core/parse.js';
import { writeRuleset, writeRulesetPieces } from '../../src/core/write.js';
import type { Ruleset } from '../../src/core/model.js';
import { stripComments } from '../../src/io/iptables.js';
import { readInput } from '../../src/io/input.js';
import { run } from '../../src/io/run.js';
import { saveCaptures } from '../helpers/fixtures.js';

const captures = saveCaptures().filter((_, i) => i % 7 === 0);

/** Everything a later step reads from a rule, as text. */
function shape(rs: Ruleset): string {
  return JSON.stringify([...rs.tables.values()].map((t) => [t.name, [...t.chains.values()].map((c) =>
    [c.name, c.policy, c.counters, c.rules.map((r) => [r.chain, r.text, r.target, r.args, r.counters, r.source])])]));
}

/** Deterministic pseudo-random piece lengths (1..max). */
function* lengths(seed: number, max: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    yield 1 + (x % max);
  }
}

test('a ruleset fed in pieces of any size parses exactly as the whole text (trusted and checked)', () => {
  const failures: string[] = [];
  for (const { path, family } of captures) {
    const text = readFileSync(path, 'utf8');
    if (stripComments(text).trim() === '') continue;
    for (const trusted of [false, true]) {
      const whole = shape(parseRuleset(text, { file: path, family, trusted }).ruleset);
      for (const max of [1, 7, 300]) {
        const p = createParser({ file: path, family, trusted });
        const len = lengths(max + text.length, max);
        for (let at = 0; at < text.length; ) {
          const n = len.next().value as number;
          p.push(text.slice(at, at + n));
          at += n;
        }
        if (shape(p.end().ruleset) !== whole) failures.push(`${path} trusted=${trusted} pieces≤${max}`);
      }
    }
  }
  assert.deepEqual(failures, []);
});

test('errors found in pieces name the same lines as in the whole text', () => {
  const text = '*filter\n-A INPUT -j NOWHERE\n-A INPUT -s 2001:db8::1 -j ACCEPT\n';
  const messages = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  const whole = messages(() => parseRuleset(text, { file: 'f', family: 'ipv4' }));
  const pieces = messages(() => {
    const p = createParser({ file: 'f', family: 'ipv4' });
    for (const ch of text) p.push(ch);
    return p.end();
  });
  assert.match(whole, /f:2: .*NOWHERE/);
  assert.match(whole, /f:3: table 'filter' opened at line 1 has no COMMIT/);
  assert.equal(pieces, whole);
});

test("trusted lines: the target is the -j/-g outside quotes, even when a comment holds ' -j '", () => {
  const text = '*filter\n:X - [0:0]\n' +
    '-A INPUT -m comment --comment "say \\"-j X\\" -g Y" -j ACCEPT\n' +
    '-A INPUT -m comment --comment "a -j b" -g X\n' +
    '-A X -m comment --comment "-j" -j DROP\n' +
    'COMMIT\n';
  const rs = parseRuleset(text, { file: 't', family: 'ipv4', trusted: true }).ruleset;
  const full = parseRuleset(text, { file: 't', family: 'ipv4' }).ruleset;
  const targets = (r: Ruleset) => [...r.tables.get('filter')!.chains.values()].flatMap((c) => c.rules.map((x) => x.target));
  assert.deepEqual(targets(rs), [{ kind: 'jump', name: 'ACCEPT' }, { kind: 'goto', name: 'X' }, { kind: 'jump', name: 'DROP' }]);
  assert.equal(shape(rs), shape(full));
});

test('stripComments drops exactly the lines starting with #', () => {
  const reference = (t: string) => t.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  const bits = ['#', 'a', '\n', '#c', 'b', '\n\n', ' #', '\n#x\n', '*filter\n'];
  const len = lengths(5, 1000);
  for (let k = 0; k < 20_000; k++) {
    let t = '';
    for (let i = 0, n = (len.next().value as number) % 9; i < n; i++) t += bits[(len.next().value as number) % bits.length];
    assert.equal(stripComments(t), reference(t), JSON.stringify(t));
  }
});

test('writeRulesetPieces hands out, piece by piece, exactly the text of writeRuleset', () => {
  for (const { path, family } of captures) {
    const text = readFileSync(path, 'utf8');
    if (stripComments(text).trim() === '') continue;
    const rs = parseRuleset(text, { file: path, family }).ruleset;
    const pieces: string[] = [];
    writeRulesetPieces(rs, (p) => pieces.push(p));
    assert.equal(pieces.join(''), writeRuleset(rs), path);
  }
});

test('run: stdout read behind the file while the child writes it arrives whole and in order, multibyte characters intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'isr-run-'));
  try {
    const chunks: string[] = [];
    // "é" is two bytes; the pauses make us read while the writer is mid-way
    const script = 'printf "a\\303"; sleep 0.05; printf "\\251b\\n"; sleep 0.05; i=0; while [ $i -lt 2000 ]; do echo "line $i é"; i=$((i+1)); done';
    const res = await run('sh', ['-c', script], { stdoutFile: join(dir, 'out'), onStdout: (c) => chunks.push(c) });
    assert.equal(res.exitCode, 0);
    const expected = 'aéb\n' + Array.from({ length: 2000 }, (_, i) => `line ${i} é\n`).join('');
    assert.equal(chunks.join(''), expected);
    assert.equal(res.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run: a missing program is exit 127 with the reason, not a throw', async () => {
  const res = await run('isr-no-such-program', []);
  assert.equal(res.exitCode, 127);
  assert.match(res.stderr, /ENOENT/);
});

test('input: a file read straight into a string keeps a real U+FFFD and still refuses malformed UTF-8 with its line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isr-input-'));
  try {
    const good = join(dir, 'good.rules');
    writeFileSync(good, Buffer.from('*filter\n-A INPUT -m comment --comment "ok \uFFFD" -j ACCEPT\nCOMMIT\n'));
    assert.match(readInput(good).text, /ok \uFFFD/);
    const bad = join(dir, 'bad.rules');
    writeFileSync(bad, Buffer.concat([Buffer.from('*filter\n-A INPUT -m comment --comment "caf'), Buffer.from([0xe9]), Buffer.from('" -j ACCEPT\nCOMMIT\n')]));
    assert.throws(() => readInput(bad), /bad\.rules:2: not UTF-8/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
