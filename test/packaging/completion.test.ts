// The static bash completion (scripts/build-completion): generated from the program's tables,
// it answers without running node. Each case completes a command line in a real bash
// (COMP_WORDS/COMP_CWORD, then the function `complete -F` names) in a directory holding two
// files, and compares the answers with what the program accepts there: the commands, each
// command's options (long, and the single-letter aliases with one dash: never `--4`), the choices of
// --backend and --canonical, file names after -n (the twin's FILE, not commands) and after --out.
// The time per TAB is printed (t.diagnostic), not asserted (speed is measured, not tested).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'isr-completion-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const script = join(dir, 'out', 'iptables-safe-restore');
const cwd = join(dir, 'cwd');

before(() => {
  const b = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-bundle'), '--out', join(dir, 'bundle', 'iptables-safe-restore.mjs')], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  const c = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-completion'), '--prog', join(dir, 'bundle', 'iptables-safe-restore.mjs'), '--out', join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  mkdirSync(cwd);
  writeFileSync(join(cwd, 'rules.v4'), '*filter\nCOMMIT\n');
  writeFileSync(join(cwd, 'plan.json'), '{}');
});

/** The answers to TAB at the end of LINE (a trailing space: a new, empty word). */
function complete(line: string, repeat = 1): { words: string[]; us: number } {
  const words = line.split(' ');
  const body = `source "$1"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
start=$EPOCHREALTIME
for ((k = 0; k < ${repeat}; k++)); do _iptables_safe_restore; done
end=$EPOCHREALTIME
printf '%s\\n' "\${COMPREPLY[@]}"; echo "us=$(( (\${end/./} - \${start/./}) / ${repeat} ))" >&2`;
  const r = spawnSync('bash', ['-c', body, 'bash', script], { encoding: 'utf8', cwd });
  assert.equal(r.status, 0, r.stderr);
  return { words: r.stdout.split('\n').filter(Boolean).sort(), us: Number(/us=(\d+)/.exec(r.stderr)?.[1]) };
}

test('the script is static: it names no node and no program to run, and bash parses it', () => {
  const text = readFileSync(script, 'utf8');
  assert.doesNotMatch(text, /\bnode\b|--get-yargs-completions/);
  assert.match(text, /^complete -F _iptables_safe_restore iptables-safe-restore ip6tables-safe-restore$/m);
  assert.equal(spawnSync('bash', ['-n', script]).status, 0);
});

test('the first word: the commands and the files; options: the twin\'s', () => {
  const first = complete('iptables-safe-restore ').words;
  for (const w of ['check', 'plan', 'apply', 'reconcile', 'confirm', 'rules.v4', 'plan.json']) assert.ok(first.includes(w), w);
  assert.ok(!first.includes('__watchdog'));
  assert.deepEqual(complete('iptables-safe-restore pl').words, ['plan', 'plan.json']);
  const opts = complete('iptables-safe-restore --no').words;
  assert.deepEqual(opts, ['--noflush']);
  const twin = complete('iptables-safe-restore -').words;
  for (const o of ['-n', '-c', '-T', '-w', '--table', '--wait', '--backend', '--confirm']) assert.ok(twin.includes(o), o);
});

test('-n <TAB>: files, not commands (yargs\' stock script offered the commands)', () => {
  assert.deepEqual(complete('iptables-safe-restore -n ').words, ['plan.json', 'rules.v4']);
  assert.deepEqual(complete('iptables-safe-restore -T ').words, ['filter', 'mangle', 'nat', 'raw', 'security']);
  // -6 may come before a command: commands are offered after it
  assert.ok(complete('iptables-safe-restore -6 ').words.includes('apply'));
});

test('a command\'s options: long names and one-dash aliases, never --4, --v, --U or --w', () => {
  const opts = complete('iptables-safe-restore plan -').words;
  for (const o of ['--backend', '--canonical', '--context', '-U', '--out', '--state-dir', '-4', '-6', '-v', '-w', '--wait']) assert.ok(opts.includes(o), o);
  for (const bad of ['--4', '--6', '--v', '--U', '--w', '--q']) assert.ok(!opts.includes(bad), bad);
  assert.deepEqual(complete('iptables-safe-restore plan --backend ').words, ['auto', 'legacy', 'nft']);
  assert.deepEqual(complete('iptables-safe-restore plan --canonical=le').words, ['lexical']);
  assert.deepEqual(complete('iptables-safe-restore plan --out ').words, ['plan.json', 'rules.v4']);
  assert.deepEqual(complete('iptables-safe-restore plan -U ').words, [], 'a number: nothing offered');
  assert.deepEqual(complete('iptables-safe-restore apply --backend nft r').words, ['rules.v4'], 'after an option and its value, the FILE');
  assert.ok(complete('iptables-safe-restore save -').words.includes('--counters'));
  assert.ok(!complete('iptables-safe-restore check -').words.includes('--out'), 'check has no --out');
});

test('time per TAB (printed, not asserted)', (t) => {
  const r = complete('iptables-safe-restore plan --backend ', 100);
  const f = complete('iptables-safe-restore -n ', 100);
  t.diagnostic(`bash: ${(r.us / 1000).toFixed(2)} ms per TAB (choices), ${(f.us / 1000).toFixed(2)} ms per TAB (files); yargs' stock script started node: ~400 ms`);
  assert.ok(Number.isFinite(r.us) && Number.isFinite(f.us));
});
