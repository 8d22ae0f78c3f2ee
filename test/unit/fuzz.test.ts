// Fuzz: thousands of random mutations of real captures (fixed seed, so a failure repeats).
// Every case must either parse or fail with a located ParseError — never throw anything
// else — and whatever parses must write out as input that parses to the same text again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseRuleset } from '../../src/core/parse.js';
import { writeRuleset } from '../../src/core/write.js';
import { ParseError } from '../../src/errors.js';
import { saveCaptures } from '../helpers/fixtures.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const CASES = Number(process.env.FUZZ_CASES ?? 5000);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCAB = ['"', '\\', '!', '[', ']', ':', '*', '-A', '-I', '-D', '-R', '-N', '-X', '-F', '-Z', '-P', '-E', '1', '0', '99',
  '-j', '-g', 'ACCEPT', 'DOCKER', 'INPUT', 'COMMIT', '*nat', '*filter', ':X - [0:0]', '[1:2]', '::1', '10.0.0.1/33',
  '--comment', '"a b"', '\0', '\r', '\t', ' ', '#', 'é', '-s', '-o', '--to-destination', '[fd00::1]:80', '--append', '-t'];

test(`fuzz: ${CASES} mutated captures parse or fail with a located error (seed ${SEED})`, () => {
  const rnd = mulberry32(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const sources = saveCaptures().map((c) => ({ ...c, lines: readFileSync(c.path, 'utf8').split('\n') }));
  let parsed = 0;
  let rejected = 0;
  for (let n = 0; n < CASES; n++) {
    const src = pick(sources);
    const lines = [...src.lines];
    const edits = 1 + Math.floor(rnd() * 3);
    for (let e = 0; e < edits; e++) {
      const i = Math.floor(rnd() * lines.length);
      switch (Math.floor(rnd() * 7)) {
        case 0: lines.splice(i, 1); break;
        case 1: lines.splice(i, 0, lines[Math.floor(rnd() * lines.length)] ?? ''); break;
        case 2: { const j = Math.floor(rnd() * lines.length); [lines[i], lines[j]] = [lines[j], lines[i]]; break; }
        case 3: { const l = lines[i] ?? ''; const at = Math.floor(rnd() * (l.length + 1)); lines[i] = l.slice(0, at) + pick(VOCAB) + l.slice(at); break; }
        case 4: { const toks = (lines[i] ?? '').split(' '); toks[Math.floor(rnd() * toks.length)] = pick(VOCAB); lines[i] = toks.join(' '); break; }
        case 5: lines.length = Math.max(0, i); break;
        default: lines[i] = (lines[i] ?? '').slice(0, Math.floor(rnd() * (lines[i]?.length ?? 0)));
      }
    }
    const text = lines.join('\n');
    const ctx = `case ${n} (from ${src.path}):\n${text}`;
    try {
      const { ruleset } = parseRuleset(text, { file: 'fuzz', family: src.family });
      parsed++;
      const once = writeRuleset(ruleset);
      const twice = writeRuleset(parseRuleset(once, { file: 'again', family: src.family }).ruleset);
      assert.equal(twice, once, `writer output does not reparse to itself: ${ctx}`);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.ok(e instanceof ParseError, `threw ${String((e as Error)?.stack ?? e)}\n${ctx}`);
      rejected++;
      const max = text.split('\n').length;
      for (const d of e.diagnostics) {
        assert.equal(d.file, 'fuzz');
        assert.ok(Number.isInteger(d.line) && d.line >= 0 && d.line <= max, `line ${d.line} out of range: ${ctx}`);
        assert.ok(d.reason.length > 0 && !d.reason.includes('\n'), `bad reason ${JSON.stringify(d.reason)}`);
      }
    }
  }
  // Both outcomes must occur, or the mutations are not exercising anything.
  assert.ok(parsed > CASES / 20, `only ${parsed} cases parsed`);
  assert.ok(rejected > CASES / 20, `only ${rejected} cases were rejected`);
});
