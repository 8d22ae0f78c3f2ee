// Failing closed at boot (issue 19): when iptables-safe-restore cannot run, the RHEL service
// wrapper's start and the netfilter-persistent plugin's start still load the user's rules, with
// the stock iptables-restore and the same options, and say so loudly; what is not a boot load
// (reload, save, flush) fails instead of doing it the stock way. Offline, with the recording
// stubs (test/helpers/stubs.ts) for the tool and the stock restores; "cannot run" is made three
// ways: the real launcher built to name a node that does not exist (build-bundle --node), a
// tool that answers the probe with 126 (the launcher's "node too old"), and a run that ends
// with 126 after the probe passed (the program file cut short).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';
import { Sandbox, show } from '../helpers/stubs.js';

const box = new Sandbox();
after(() => box.cleanup());
const service = join(box.libexec, 'iptables-service');
const plugin = join(box.libexec, 'netfilter-persistent-plugin');
const rulesText = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -j REJECT\nCOMMIT\n';
const rules = box.write('iptables', rulesText);
const fallbackText = '*filter\n:INPUT DROP [0:0]\nCOMMIT\n';
const fallback = box.write('iptables.fallback', fallbackText);

// The real launcher, built to run a node that is not there (as when nodejs was removed).
const noNode = box.path('no-node');
mkdirSync(noNode);
const built = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-bundle'), '--node', '/nonexistent/bin/node', '--out', join(noNode, 'launcher.mjs')], { encoding: 'utf8' });
assert.equal(built.status, 0, built.stderr);
for (const name of ['iptables-safe-restore', 'ip6tables-safe-restore']) symlinkSync(join(noNode, 'launcher.mjs'), join(noNode, name));

const rhel = (config: string, extra: Record<string, string | undefined> = {}) => ({
  IPTABLES_CONFIG: box.write('iptables-config', config),
  RULES_FILE: rules,
  FALLBACK_FILE: fallback,
  SYSCTL_DIR: box.path('no-sysctl.d'),
  ...extra,
});
const stockCalls = (r: { calls: { prog: string }[] }) => r.calls.filter((c) => c.prog.endsWith('tables-restore') && !c.prog.includes('safe'));

test('RHEL start, node missing: the stock iptables-restore loads the file with the same options, loudly, then modules', () => {
  const r = box.run(service, ['start', 'ipv4'], rhel('IPTABLES_SAVE_COUNTER=yes\nIPTABLES_RESTORE_WAIT=30\nIPTABLES_MODULES="nf_nat_ftp"\n', { ISR_BIN_DIR: noNode }));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls.map(show), ['iptables-restore -c --wait 30', 'modprobe -- nf_nat_ftp']);
  assert.equal(r.calls[0].stdin, rulesText.trimEnd(), 'the rules file, on stdin');
  assert.match(r.stderr, /iptables: iptables-safe-restore cannot run \(.*(not found|No such file)/);
  assert.match(r.stderr, new RegExp(`FAIL-CLOSED: loading ${rules} with the stock iptables-restore instead`));
  assert.match(r.stderr, new RegExp(`FAIL-CLOSED: ${rules} is in force`));
  assert.match(r.stderr, /to repair: make \/usr\/bin\/node a working Node\.js >= 20\.19.*iptables-safe-restore reconcile/);
});

test('RHEL start, node too old (the probe exits 126): stock restore; under systemd the lines are at priority crit', () => {
  const r = box.run(service, ['start', 'ipv6'], rhel('', { STUB_FAIL: '--version=126', JOURNAL_STREAM: '8:1234' }));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.probes.length, 1);
  assert.deepEqual(r.calls.map(show), ['ip6tables-restore --wait 600'], 'the twin itself never ran');
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length >= 3);
  for (const l of lines) assert.match(l, /^<2>ip6tables: /, 'every fail-closed line at priority 2 (crit)');
});

test('RHEL start, the run itself cannot run (126 after a good probe): stock restore of the same file', () => {
  const r = box.run(service, ['start'], rhel('', { STUB_FAIL: `${rules}=126` }));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore --wait 600 ${rules}`, 'iptables-restore --wait 600']);
  assert.match(r.stderr, /cannot run \(it stopped with exit 126\)/);
});

test('RHEL start: a run that failed (bad rules, rolled back) is no reason for the stock tool: the fallback file, through the twin', () => {
  const r = box.run(service, ['start'], rhel('', { STUB_FAIL: `${rules}=1` }));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(stockCalls(r), []);
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore --wait 600 ${rules}`, `iptables-safe-restore --wait 600 ${fallback}`]);
  assert.doesNotMatch(r.stderr, /FAIL-CLOSED/);
});

test('RHEL start, node missing and the file refused by the stock tool too: the fallback file, stock; both refused: failure', () => {
  const r = box.run(service, ['start'], rhel('', { ISR_BIN_DIR: noNode, STUB_FAIL: '--wait=2' }));
  assert.equal(r.status, 2);
  assert.deepEqual(r.calls.map((c) => [show(c), c.stdin]), [['iptables-restore --wait 600', rulesText.trimEnd()], ['iptables-restore --wait 600', fallbackText.trimEnd()]]);
  assert.match(r.stderr, /the stock iptables-restore failed too \(exit 2\): .* is NOT in force/);
});

test('RHEL reload and stop, node missing: no stock restore (the rules in force stay), a failure', () => {
  const r = box.run(service, ['reload'], rhel('', { ISR_BIN_DIR: noNode }));
  assert.notEqual(r.status, 0);
  assert.deepEqual(r.calls, []);
  const s = box.run(service, ['stop'], rhel('', { ISR_BIN_DIR: noNode }));
  assert.notEqual(s.status, 0);
  assert.deepEqual(s.calls, []);
});

const v4Text = '*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n';
const v4 = box.write('rules.v4', v4Text);
const deb = (defaults: string, extra: Record<string, string | undefined> = {}) => ({
  NETFILTER_PERSISTENT_DEFAULTS: box.write('netfilter-persistent', defaults),
  RULES_FILE: v4,
  PROC_IPV6: box.dir,
  ...extra,
});
const shipped = 'FLUSH_ON_STOP=0\nIPTABLES_TEST_RULESET=yes\nIP6TABLES_TEST_RULESET=yes\n';

test('netfilter-persistent start and restart, node missing: the stock --test then load, with --noflush when set', () => {
  for (const action of ['start', 'restart']) {
    const r = box.run(plugin, ['ipv4', action], deb(`${shipped}IPTABLES_RESTORE_NOFLUSH=yes\n`, { ISR_BIN_DIR: noNode }));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls.map((c) => [show(c), c.stdin]), [['iptables-restore --test --noflush', v4Text.trimEnd()], ['iptables-restore --noflush', v4Text.trimEnd()]], action);
    assert.match(r.stderr, /FAIL-CLOSED: .*rules\.v4 is in force/);
  }
  // the stock test refuses the file: nothing loaded, and like the stock plugin no failure
  const t = box.run(plugin, ['ipv4', 'start'], deb(shipped, { ISR_BIN_DIR: noNode, STUB_FAIL: '--test=2' }));
  assert.equal(t.status, 0);
  assert.deepEqual(t.calls.map(show), ['iptables-restore --test']);
  assert.match(t.stderr, /rules failed test load \(stock iptables-restore\)\. New rules NOT loaded/);
});

test('netfilter-persistent start, the twin ends with 126 after a good probe: the stock load', () => {
  const r = box.run(plugin, ['ipv6', 'start'], deb('', { STUB_FAIL: `${v4}=126` }));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls.map(show), [`ip6tables-safe-restore ${v4}`, 'ip6tables-restore']);
});

test('netfilter-persistent reload, save and flush, node missing: refused, nothing done the stock way', () => {
  for (const action of ['reload', 'force-reload', 'save', 'flush']) {
    const r = box.run(plugin, ['ipv4', action], deb(shipped, { ISR_BIN_DIR: noNode }));
    assert.equal(r.status, 1, `${action}: ${r.stderr}`);
    assert.deepEqual(r.calls, [], action);
    assert.match(r.stderr, /iptables-safe-restore cannot run/, action);
  }
});

test('with a tool that runs, start calls no stock tool and prints nothing about failing closed', () => {
  const r = box.run(plugin, ['ipv4', 'start'], deb(shipped));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.probes.map(show), ['iptables-safe-restore --version']);
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore --test ${v4}`, `iptables-safe-restore ${v4}`]);
  assert.equal(r.stderr, '');
});
