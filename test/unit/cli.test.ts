// The command line, as a user runs it: exit codes, messages on stderr, no stack traces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, fixture } from '../helpers/fixtures.js';
import { VERSION } from '../../src/cli.js';

const bin4 = join(repoRoot, 'bin', 'iptables-safe-restore');
const bin6 = join(repoRoot, 'bin', 'ip6tables-safe-restore');
const run = (bin: string, args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8' });
const example = join(repoRoot, 'packaging', 'examples', 'rhel-iptables-services.rules');

test('check on a valid file: exit 0 and a one-line summary', () => {
  const r = run(bin4, ['check', example]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /valid IPv4 ruleset: tables filter; 0 user chains, 6 rules/);
});

test('check reads stdin when no file is given', () => {
  const r = run(bin4, ['check'], '*filter\n-A INPUT -j ACCEPT\nCOMMIT\n');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^<stdin>: valid IPv4 ruleset/);
});

test('bad input: exit 1, FILE:LINE: reason on stderr, no stack trace, nothing on stdout', () => {
  const bad = fixture('errors', 'jump-missing.rules');
  const r = run(bin4, ['check', bad]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `${bad}:3: jump to 'SSH_IN': no such chain in table 'filter' and not a standard target or target extension\n`);
});

test('a missing file and an unknown option are errors with exit 1 and no stack', () => {
  const r = run(bin4, ['check', '/nonexistent/rules']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'iptables-safe-restore: /nonexistent/rules: cannot read: no such file\n');
  const u = run(bin4, ['check', '--frobnicate', example]);
  assert.equal(u.status, 1);
  assert.match(u.stderr, /Unknown argument: frobnicate/);
  assert.doesNotMatch(u.stderr + r.stderr, /\n\s+at /);
});

test('the family follows the program name, or -4/-6', () => {
  const v6text = '*filter\n-A INPUT -s fd00::1 -j ACCEPT\nCOMMIT\n';
  assert.equal(run(bin6, ['check'], v6text).status, 0);
  assert.equal(run(bin4, ['check'], v6text).status, 1);
  assert.equal(run(bin4, ['-6', 'check'], v6text).status, 0);
  assert.equal(run(bin6, ['-4', 'check'], v6text).status, 1);
});

test('--version prints the package version', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version);
  const r = run(bin4, ['--version']);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('warnings go to stderr and do not fail the check', () => {
  const r = run(bin4, ['check'], '*filter\n-A INPUT -p tcp --dport ! 22 -j DROP\nCOMMIT\n');
  assert.equal(r.status, 0);
  assert.match(r.stderr, /<stdin>:2: warning: old-style negation/);
});

test('merge --live-from prints the target on stdout and what was stripped on stderr', () => {
  const live = fixture('lab', '28', 'default-bridge.v4.rules');
  const stale = fixture('docker-layouts', 'docker-v29.7.2', 'new-daemon.rules');
  const r = run(bin4, ['merge', stale, '--live-from', live]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\*filter\n/);
  assert.match(r.stdout, /^-A FORWARD -j DOCKER-FORWARD$/m);
  assert.match(r.stderr, /stripped from .*new-daemon.rules: 7 chains and 12 rules owned by docker/);
});

test('explain lists each line of the file with its verdict and the preserved live parts', () => {
  const live = fixture('lab', '20.10', 'default-bridge.v4.rules');
  const r = run(bin4, ['explain', example, '--live-from', live]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\s+13  kept      \*filter -A FORWARD -j REJECT --reject-with icmp-host-prohibited$/m);
  assert.match(r.stdout, /^  \*filter -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n    docker: conntrack ACCEPT for Docker bridge docker0$/m);
  assert.doesNotMatch(r.stdout, /\*nat/, 'the file names no nat table, so nothing of nat is touched');
});

test('merge with a bad file or a bad --preserve name: exit 1, a message, no stack', () => {
  const live = fixture('lab', '28', 'default-bridge.v4.rules');
  const bad = run(bin4, ['merge', fixture('errors', 'jump-missing.rules'), '--live-from', live]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /jump-missing.rules:3: jump to 'SSH_IN'/);
  const p = run(bin4, ['merge', example, '--live-from', live, '--preserve', 'nosuch']);
  assert.equal(p.status, 1);
  assert.match(p.stderr, /unknown owner profile 'nosuch'/);
  assert.doesNotMatch(bad.stderr + p.stderr, /\n\s+at /);
});

test('--config adds preserved owners; a missing --config file is an error', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'isr-cfg-'));
  try {
    const cfg = join(dir, 'conf');
    writeFileSync(cfg, 'preserve = fail2ban\n');
    const live = join(dir, 'live');
    writeFileSync(live, '*filter\n:INPUT ACCEPT [0:0]\n:f2b-sshd - [0:0]\n-A INPUT -p tcp -j f2b-sshd\n-A f2b-sshd -j RETURN\nCOMMIT\n');
    const withCfg = run(bin4, ['merge', example, '--live-from', live, '--config', cfg]);
    assert.equal(withCfg.status, 0, withCfg.stderr);
    assert.match(withCfg.stdout, /^-A INPUT -p tcp -j f2b-sshd$/m);
    const without = run(bin4, ['merge', example, '--live-from', live]);
    assert.doesNotMatch(without.stdout, /f2b-sshd/);
    const missing = run(bin4, ['merge', example, '--live-from', live, '--config', join(dir, 'nope')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope: cannot read the configuration: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plan: exit 2 with changes pending, 0 when in sync, 1 on bad input with a located message', async () => {
  const { mkdtempSync, writeFileSync, rmSync, statSync, readFileSync: read } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'isr-plan-cli-'));
  try {
    const saved = join(repoRoot, 'packaging', 'examples', 'rhel-saved-on-docker-host.rules');
    const live = join(repoRoot, 'packaging', 'examples', 'live-docker-host.rules');
    const common = ['--live-from', live, '--canonical', 'lexical', '--state-dir', join(dir, 'state'), '--docker-socket', '/nonexistent/sock'];
    const out = join(dir, 'plan.json');
    const r = run(bin4, ['plan', saved, ...common, '--out', out]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stdout, /Changes pending: 6 rules to add, 0 to remove/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const plan = JSON.parse(read(out, 'utf8'));
    assert.equal(plan.schemaVersion, 1);
    writeFileSync(join(dir, 'now-live.rules'), plan.target);
    const same = run(bin4, ['plan', saved, ...common.slice(2), '--live-from', join(dir, 'now-live.rules')]);
    assert.equal(same.status, 0, same.stdout + same.stderr);
    const bad = run(bin4, ['plan', fixture('errors', 'missing-commit.rules'), ...common]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /missing-commit.rules:3: table 'filter' opened at line 1 has no COMMIT/);
    assert.equal(bad.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plan output has no colour codes off a terminal; colour rules follow --no-color and NO_COLOR', async () => {
  const { colorWanted } = await import('../../src/ui/color.js');
  assert.equal(colorWanted(undefined, true, {}), true);
  assert.equal(colorWanted(false, true, {}), false);
  assert.equal(colorWanted(undefined, true, { NO_COLOR: '1' }), false);
  assert.equal(colorWanted(undefined, false, {}), false);
  const saved = join(repoRoot, 'packaging', 'examples', 'rhel-saved-on-docker-host.rules');
  const r = run(bin4, ['plan', saved, '--live-from', join(repoRoot, 'packaging', 'examples', 'live-docker-host.rules'), '--canonical', 'lexical', '--docker-socket', '/nonexistent/sock']);
  assert.doesNotMatch(r.stdout, /\x1b\[/);
});
