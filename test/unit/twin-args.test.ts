// The twin's command line: iptables-restore 1.8.9's options read with getopt_long's rules,
// the choice between the twin and the command table, and the twin's exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isVerbInvocation, parseTwinArgs } from '../../src/twin-args.js';
import { EXIT, twinExitCode } from '../../src/exit-codes.js';
import { UsageError } from '../../src/errors.js';
import { repoRoot } from '../helpers/fixtures.js';

const bin4 = join(repoRoot, 'bin', 'iptables-safe-restore');
const run = (args: string[]) => spawnSync(process.execPath, [bin4, ...args], { encoding: 'utf8', input: '' });

test('combined short flags, attached and separate values, long forms and unique prefixes', () => {
  const a = parseTwinArgs(['-nvc', '-Tnat', '/etc/sysconfig/iptables']);
  assert.deepEqual([a.noflush, a.verbose, a.counters, a.test, a.table, a.file], [true, true, true, false, 'nat', '/etc/sysconfig/iptables']);
  const b = parseTwinArgs(['--table=mangle', '--modprobe', '/sbin/modprobe', '--nofl', '--te', 'rules']);
  assert.deepEqual([b.table, b.modprobe, b.noflush, b.test, b.file], ['mangle', '/sbin/modprobe', true, true, 'rules']);
  const c = parseTwinArgs(['-cT', 'filter', '-M', '/bin/true']);
  assert.deepEqual([c.counters, c.table, c.modprobe, c.file], [true, 'filter', '/bin/true', undefined]);
});

test('-w takes an optional number of seconds: -w, -w 5, --wait=5, --wait 600, -w5, -wn', () => {
  assert.equal(parseTwinArgs(['-w']).wait, 'forever');
  assert.deepEqual([parseTwinArgs(['-w', '5', 'f']).wait, parseTwinArgs(['-w', '5', 'f']).file], [5, 'f']);
  assert.deepEqual([parseTwinArgs(['-w', 'f']).wait, parseTwinArgs(['-w', 'f']).file], ['forever', 'f'], 'a non-number after -w is the FILE');
  assert.equal(parseTwinArgs(['--wait=5']).wait, 5);
  assert.deepEqual([parseTwinArgs(['--wait', '600', '/etc/sysconfig/iptables']).wait, parseTwinArgs(['--wait', '600', '/etc/sysconfig/iptables']).file], [600, '/etc/sysconfig/iptables']);
  assert.equal(parseTwinArgs(['-w5']).wait, 5);
  const wn = parseTwinArgs(['-wn']);
  assert.deepEqual([wn.wait, wn.noflush], ['forever', true]);
  assert.throws(() => parseTwinArgs(['--wait=soon']), /wait seconds not numeric/);
  assert.equal(parseTwinArgs(['-W', '100000']).waitInterval, 100000);
  assert.equal(parseTwinArgs(['--wait-interval=5']).waitInterval, 5);
  assert.throws(() => parseTwinArgs(['-W', '1000000']), /up to 999999/);
  assert.throws(() => parseTwinArgs(['-W']), /option requires an argument -- 'W'/);
});

test('--confirm takes a duration only attached (--confirm=90s); bare, it never eats the FILE', () => {
  assert.deepEqual([parseTwinArgs(['--confirm', 'rules']).confirm, parseTwinArgs(['--confirm', 'rules']).file], ['', 'rules']);
  assert.deepEqual([parseTwinArgs(['--confirm=90s', 'rules']).confirm, parseTwinArgs(['--confirm=90s', 'rules']).file], ['90s', 'rules']);
  assert.equal(parseTwinArgs(['rules']).confirm, undefined);
  assert.equal(parseTwinArgs(['--confirm', '60']).file, '60', 'a number after a bare --confirm is the FILE, not a duration');
  assert.equal(isVerbInvocation(['--confirm', 'plan']), true, 'a bare --confirm takes no value word');
});

test('operands anywhere, - is stdin, -- ends the options, one FILE at most', () => {
  const a = parseTwinArgs(['rules.v4', '-n']);
  assert.deepEqual([a.file, a.noflush], ['rules.v4', true]);
  assert.equal(parseTwinArgs(['-']).file, '-');
  assert.equal(parseTwinArgs(['--', '-n']).file, '-n');
  assert.equal(parseTwinArgs([]).file, undefined);
  assert.throws(() => parseTwinArgs(['a', 'b']), /one FILE at most/);
});

test("getopt's errors: unknown, ambiguous, missing or unwanted values — all UsageError", () => {
  const err = (argv: string[]) => {
    try {
      parseTwinArgs(argv);
    } catch (e) {
      assert.ok(e instanceof UsageError, String(e));
      return e.message;
    }
    assert.fail(`no error for ${argv.join(' ')}`);
  };
  assert.equal(err(['-x']), "invalid option -- 'x'");
  assert.equal(err(['--frobnicate']), "unrecognized option '--frobnicate'");
  assert.equal(err(['--t']), "option '--t' is ambiguous; possibilities: '--test' '--table'");
  assert.equal(err(['-T']), "option requires an argument -- 'T'");
  assert.equal(err(['--table']), "option '--table' requires an argument");
  assert.equal(err(['--noflush=yes']), "option '--noflush' doesn't allow an argument");
  assert.match(err(['--backend', 'iptables']), /--backend must be auto, nft or legacy/);
});

test("the tool's own options, long form only, after the twin's", () => {
  const a = parseTwinArgs(['-n', 'f', '--backend', 'legacy', '--state-dir=/s', '--docker-socket', '/d', '--preserve', 'fail2ban', '--preserve=kube-proxy',
    '--config', '/c', '--netns', 'ns1', '--lock-wait', '9', '--lock-file', '/l', '--force', '--quiet', '-6']);
  assert.deepEqual(
    [a.backend, a.stateDir, a.dockerSocket, a.preserve, a.config, a.netns, a.lockWait, a.lockFile, a.force, a.quiet, a.family, a.file],
    ['legacy', '/s', '/d', ['fail2ban', 'kube-proxy'], '/c', 'ns1', 9, '/l', true, true, 'ipv6', 'f'],
  );
});

test('a command word as the first operand selects the command table; anything else is the twin', () => {
  for (const argv of [['plan', 'f'], ['-6', 'apply', 'f'], ['save'], ['-v', 'stop'], ['reconcile'], ['--backend', 'nft', 'check', 'f'], ['--state-dir', '/x', 'history']]) {
    assert.equal(isVerbInvocation(argv), true, argv.join(' '));
  }
  for (const argv of [[], ['f'], ['-n', 'rules'], ['-T', 'nat', 'f'], ['-w', '5', 'f'], ['--', 'apply'], ['-h'], ['--version'], ['-']]) {
    assert.equal(isVerbInvocation(argv), false, argv.join(' '));
  }
  // an option's value is never the command word: -T takes one, -w only a number
  assert.equal(isVerbInvocation(['-T', 'save', 'f']), false);
  assert.equal(isVerbInvocation(['-w', 'save']), true);
  assert.equal(isVerbInvocation(['--get-yargs-completions', 'iptables-safe-restore', 'pl']), true, 'bash completion asks the command table');
});

test('the twin answers 0 or 1 like iptables-restore, keeping 5 (the rollback failed)', () => {
  assert.equal(twinExitCode(EXIT.OK), 0);
  assert.equal(twinExitCode(EXIT.NOTHING_TO_DO), 0);
  for (const c of [EXIT.ERROR, EXIT.CHANGES, EXIT.ROLLED_BACK, EXIT.LOCKED, EXIT.REPAIRED]) assert.equal(twinExitCode(c), 1, `code ${c}`);
  assert.equal(twinExitCode(EXIT.ROLLBACK_FAILED), 5);
});

test('the twin on the command line: -h, -V, bad options and a bad -T exit as iptables-restore does, with no stack', () => {
  const h = run(['-h']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^Usage: iptables-safe-restore \[-c\] \[-v\] \[-V\] \[-t\] \[-h\] \[-n\]/);
  assert.match(h.stdout, /-n, --noflush/);
  assert.equal(run(['--help']).stdout, h.stdout, '--help without a command is the twin\'s help');
  assert.match(run(['-V']).stdout, /^\d+\.\d+\.\d+\n$/);
  const x = run(['-x', 'f']);
  assert.equal(x.status, 1);
  assert.equal(x.stderr, "iptables-safe-restore: invalid option -- 'x'\nTry 'iptables-safe-restore -h' for more information.\n");
  const two = run(['a', 'b']);
  assert.equal(two.status, 1);
  assert.match(two.stderr, /unknown arguments found on the command line: b/);
  const t = run(['-T', 'nosuch', 'f']);
  assert.equal(t.status, 1);
  assert.match(t.stderr, /-T: unknown table 'nosuch'/);
  assert.doesNotMatch(x.stderr + two.stderr + t.stderr, /\n\s+at /);
  const cmd = run(['plan', '--frobnicate']);
  assert.equal(cmd.status, 1, 'a command still goes to the yargs table');
  assert.match(cmd.stderr, /Unknown argument: frobnicate/);
});
