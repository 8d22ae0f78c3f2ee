// The bundle (scripts/build-bundle): the program in one file and its launcher beside it.
// Built into a directory with no node_modules above it, it must behave exactly as the
// unbundled bin/ does, under both program names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, fixture } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'isr-bundle-'));
const bundle = join(dir, 'iptables-safe-restore.mjs');
const program = join(dir, 'iptables-safe-restore.main.mjs');
const as4 = join(dir, 'iptables-safe-restore');
const as6 = join(dir, 'ip6tables-safe-restore');
const bin4 = join(repoRoot, 'bin', 'iptables-safe-restore');
const examples = join(repoRoot, 'packaging', 'examples');
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

const run = (prog: string, args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [prog, ...args], { input, encoding: 'utf8', cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

before(() => {
  const b = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-bundle'), '--out', bundle], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  symlinkSync(bundle, as4);
  symlinkSync(bundle, as6);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const importsOf = (text: string) => [...new Set([...text.matchAll(/\bimport\s*(?:[\w*{(][^;]*?from\s*)?\(?["']([^"']+)["']/g)].map((m) => m[1]))];

test('an executable launcher and one program file that imports nothing but node built-ins, lazily', () => {
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort(), ['iptables-safe-restore.main.mjs', 'iptables-safe-restore.mjs']);
  assert.ok(statSync(bundle).mode & 0o100, 'the launcher is executable');
  assert.equal(statSync(program).mode & 0o111, 0, 'the program is not run on its own');
  const launcher = readFileSync(bundle, 'utf8');
  // node by absolute path (not through PATH), with the same node options as bin/ (a small young generation)
  const devShebang = readFileSync(join(repoRoot, 'bin', 'iptables-safe-restore'), 'utf8').split('\n')[0];
  assert.equal(devShebang, '#!/usr/bin/env -S node --max-semi-space-size=1');
  assert.ok(launcher.startsWith('#!/usr/bin/node --max-semi-space-size=1\n'), `shebang: ${launcher.split('\n')[0]}`);
  assert.ok(launcher.length < 4096, 'the launcher is small: --version compiles only it');
  assert.deepEqual(importsOf(launcher), ['./iptables-safe-restore.main.mjs']);
  // Static ESM imports are evaluated before the first line runs: only node:module (for
  // createRequire) may be one; every other built-in is require()d when first used.
  assert.deepEqual(importsOf(readFileSync(program, 'utf8')), ['node:module']);
});

test('--version and -V: the package version', () => {
  assert.equal(run(as4, ['--version']).stdout, `${version}\n`);
  assert.equal(run(as6, ['-V']).stdout, `${version}\n`);
  // run as /usr/sbin runs it: through its own first line (/usr/bin/node, the node options)
  const direct = spawnSync(as4, ['--version'], { encoding: 'utf8' });
  assert.equal(direct.stdout, `${version}\n`, direct.stderr);
});

test('--help (the twin\'s) and a command\'s --help are the same as the unbundled tool', () => {
  const ours = run(as4, ['--help']);
  const theirs = run(bin4, ['--help']);
  assert.equal(ours.status, 0);
  assert.equal(ours.stdout, theirs.stdout);
  assert.match(ours.stdout, /^Usage: iptables-safe-restore \[-c\] \[-v\]/);
  const plan = run(as4, ['plan', '--help']);
  assert.equal(plan.status, 0);
  assert.equal(plan.stdout, run(bin4, ['plan', '--help']).stdout);
  assert.match(plan.stdout, /^iptables-safe-restore plan \[file\]/);
});

test('check: same output and status as the unbundled tool, valid and invalid', () => {
  for (const file of [join(examples, 'rhel-iptables-services.rules'), fixture('errors', 'jump-missing.rules')]) {
    const ours = run(as4, ['check', file]);
    const theirs = run(bin4, ['check', file]);
    assert.deepEqual(ours, theirs, file);
  }
  assert.equal(run(as4, ['check', join(examples, 'rhel-iptables-services.rules')]).status, 0);
});

test('the family follows the name: ip6tables-safe-restore accepts IPv6 addresses, iptables- does not', () => {
  const v6 = '*filter\n-A INPUT -s fd00::1 -j ACCEPT\nCOMMIT\n';
  assert.equal(run(as6, ['check'], v6).status, 0);
  const r = run(as4, ['check'], v6);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /IPv6 address 'fd00::1' in an IPv4 ruleset/);
});

test('plan --live-from on the examples: the same report and exit status (2) as the unbundled tool', () => {
  const args = ['plan', join(examples, 'rhel-saved-on-docker-host.rules'), '--live-from', join(examples, 'live-docker-host.rules'), '--canonical', 'lexical', '--explain', '--state-dir', join(dir, 'state')];
  const ours = run(as4, args);
  const theirs = run(bin4, args);
  assert.equal(ours.status, 2, ours.stderr);
  assert.deepEqual(ours, theirs);
  assert.match(ours.stdout, /Stripped from your file: 5 chains and 18 rules owned by docker/);
});

test('completion prints a bash script completing the program by its own name', () => {
  const r = run(as6, ['completion']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^complete -o bashdefault -o default -F _ip6tables-safe-restore_yargs_completions ip6tables-safe-restore$/m);
  const words = run(as4, ['--get-yargs-completions', 'iptables-safe-restore', '']).stdout.split('\n');
  for (const verb of ['check', 'plan', 'apply', 'recover', 'completion']) assert.ok(words.includes(verb), verb);
});

test('--node names another interpreter by absolute path; a relative one is refused', () => {
  const other = join(dir, 'other', 'launcher.mjs');
  const b = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-bundle'), '--out', other, '--node', process.execPath], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  assert.equal(readFileSync(other, 'utf8').split('\n')[0], `#!${process.execPath} --max-semi-space-size=1`);
  assert.equal(spawnSync(other, ['-V'], { encoding: 'utf8' }).stdout, `${version}\n`);
  const bad = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-bundle'), '--out', join(dir, 'bad', 'l.mjs'), '--node', 'node'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--node must be an absolute path/);
});

test('exit 126 when the program cannot be loaded (file missing, or cut short as a partial upgrade leaves it)', () => {
  const d = join(dir, 'broken');
  const l = join(d, 'iptables-safe-restore.mjs');
  const b = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-bundle'), '--out', l], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  const main = join(d, 'iptables-safe-restore.main.mjs');
  const text = readFileSync(main, 'utf8');
  writeFileSync(main, text.slice(0, Math.floor(text.length / 2)));
  const cut = run(l, ['check', join(examples, 'rhel-iptables-services.rules')]);
  assert.equal(cut.status, 126, cut.stderr);
  assert.match(cut.stderr, /^iptables-safe-restore: cannot load the program: .*\(reinstall the package\)\n$/);
  rmSync(main);
  const gone = run(l, ['check', join(examples, 'rhel-iptables-services.rules')]);
  assert.equal(gone.status, 126, gone.stderr);
  assert.match(gone.stderr, /cannot load the program: Cannot find module/);
  // --version does not load the program: it still answers (the wrappers' probe is about node itself)
  assert.equal(run(l, ['--version']).stdout, `${version}\n`);
  // a program that loads and fails is not 126: the exit codes of the program (1 here)
  assert.equal(run(as4, ['check', fixture('errors', 'jump-missing.rules')]).status, 1);
});
