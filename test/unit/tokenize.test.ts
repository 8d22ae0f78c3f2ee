import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteArg, tokenize } from '../../src/core/tokenize.js';

const values = (line: string) => {
  const r = tokenize(line);
  assert.ok(r.ok, `expected ${JSON.stringify(line)} to tokenize`);
  return r.tokens.values;
};

test('blanks (spaces, tabs) separate arguments; runs of blanks count once', () => {
  assert.deepEqual(values('-A INPUT  -p\ttcp   -j ACCEPT'), ['-A', 'INPUT', '-p', 'tcp', '-j', 'ACCEPT']);
});

test('double quotes group words; quotes are removed', () => {
  assert.deepEqual(values('-m comment --comment "allow ssh" -j ACCEPT'), ['-m', 'comment', '--comment', 'allow ssh', '-j', 'ACCEPT']);
});

test('a backslash inside quotes takes the next character literally', () => {
  assert.deepEqual(values('--comment "say \\"hi\\" \\\\ ok"'), ['--comment', 'say "hi" \\ ok']);
});

test('a backslash outside quotes is an ordinary character', () => {
  assert.deepEqual(values('--log-prefix a\\b'), ['--log-prefix', 'a\\b']);
});

test('the closing quote ends the argument, as in iptables-restore', () => {
  assert.deepEqual(values('"a b"c'), ['a b', 'c']);
  assert.deepEqual(values('x"y z"'), ['xy z']);
});

test('an empty quoted string is one empty argument', () => {
  assert.deepEqual(values('--comment "" -j ACCEPT'), ['--comment', '', '-j', 'ACCEPT']);
});

test('an unterminated quote is an error with its column', () => {
  const r = tokenize('-A INPUT --comment "oops -j ACCEPT');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.column === 20 && r.reason === 'unterminated quote');
});

test('token start offsets point into the line (opening quote included)', () => {
  const r = tokenize('-A X "a b" y');
  assert.ok(r.ok);
  assert.deepEqual(r.tokens.starts, [0, 3, 5, 11]);
  assert.deepEqual(r.tokens.quoted, [false, false, true, false]);
});

test('quoteArg quotes like iptables-save: bare words stay, others get quotes and escapes', () => {
  assert.equal(quoteArg('simple_word-1'), 'simple_word-1');
  assert.equal(quoteArg('a b'), '"a b"');
  assert.equal(quoteArg(`it's "q" \\ x`), `"it\\'s \\"q\\" \\\\ x"`);
  assert.equal(quoteArg(''), '""');
});
