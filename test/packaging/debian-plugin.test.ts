// The netfilter-persistent plugins (packaging/debian/*), the reconcile runner and the config
// reader, offline: the tool is a stub recording its argv (test/helpers/stubs.ts). Expected
// argv mirror what Debian's stock 15-ip4tables / 25-ip6tables give iptables-restore
// (iptables-persistent 1.0.20) for the same /etc/default/netfilter-persistent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Sandbox, show, packaging } from '../helpers/stubs.js';

const box = new Sandbox();
after(() => box.cleanup());
const plugin = join(box.libexec, 'netfilter-persistent-plugin');
const v4 = box.write('rules.v4', '*filter\nCOMMIT\n');
const v6 = box.write('rules.v6', '*filter\nCOMMIT\n');
const env = (defaults: string, extra: Record<string, string | undefined> = {}) => ({
  NETFILTER_PERSISTENT_DEFAULTS: box.write('netfilter-persistent', defaults),
  RULES_FILE: v4,
  PROC_IPV6: box.dir,
  ...extra,
});
// As Debian ships /etc/default/netfilter-persistent.
const stockDefaults = 'FLUSH_ON_STOP=0\n# IPTABLES_SKIP_SAVE=yes\n# IPTABLES_RESTORE_NOFLUSH=yes\nIPTABLES_TEST_RULESET=yes\nIP6TABLES_TEST_RULESET=yes\n';

test('start with the stock defaults: --test first, then the load', () => {
  for (const action of ['start', 'restart', 'reload', 'force-reload']) {
    const r = box.run(plugin, ['ipv4', action], env(stockDefaults));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls.map(show), [`iptables-safe-restore --test ${v4}`, `iptables-safe-restore ${v4}`], action);
  }
});

test('IPTABLES_RESTORE_NOFLUSH=yes adds --noflush to the test and the load', () => {
  const r = box.run(plugin, ['ipv4', 'start'], env(`${stockDefaults}IPTABLES_RESTORE_NOFLUSH=yes\n`));
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore --test --noflush ${v4}`, `iptables-safe-restore --noflush ${v4}`]);
});

test('a failed test load loads nothing and, like the stock plugin, does not fail netfilter-persistent', () => {
  const r = box.run(plugin, ['ipv4', 'start'], env(stockDefaults, { STUB_FAIL: '--test=1' }));
  assert.equal(r.status, 0);
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore --test ${v4}`]);
  assert.match(r.stdout, /Error: IPv4 rules failed test load. New rules NOT loaded/);
});

test('a failed load fails the plugin with the tool status', () => {
  const r = box.run(plugin, ['ipv4', 'start'], env('', { STUB_FAIL: `${v4}=4` }));
  assert.equal(r.status, 4);
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore ${v4}`]);
});

test('no defaults file and no rules file: plain load; a warning and success', () => {
  const r = box.run(plugin, ['ipv4', 'start'], { NETFILTER_PERSISTENT_DEFAULTS: box.path('absent'), RULES_FILE: v4 });
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore ${v4}`]);
  const m = box.run(plugin, ['ipv4', 'start'], env(stockDefaults, { RULES_FILE: box.path('missing.v4') }));
  assert.equal(m.status, 0);
  assert.deepEqual(m.calls, []);
  assert.match(m.stdout, /Warning: skipping IPv4 \(no rules to load\)/);
});

test('save writes the rules file through `save --out`, unless IPTABLES_SKIP_SAVE=yes', () => {
  const r = box.run(plugin, ['ipv4', 'save'], env(stockDefaults));
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore save --out ${v4}`]);
  const s = box.run(plugin, ['ipv4', 'save'], env(`${stockDefaults}IPTABLES_SKIP_SAVE=yes\n`));
  assert.deepEqual(s.calls, []);
});

test('flush is `stop` (Docker kept); stop flushes nothing; unknown actions are refused', () => {
  assert.deepEqual(box.run(plugin, ['ipv4', 'flush'], env('')).calls.map(show), ['iptables-safe-restore stop']);
  const s = box.run(plugin, ['ipv4', 'stop'], env(''));
  assert.equal(s.status, 0);
  assert.deepEqual(s.calls, []);
  assert.match(s.stdout, /Automatic flushing disabled/);
  assert.equal(box.run(plugin, ['ipv4', 'panic'], env('')).status, 1);
});

test('ipv6: ip6tables-safe-restore with the IP6TABLES_* keys; nothing at all when IPv6 is disabled', () => {
  const defaults = 'IPTABLES_TEST_RULESET=no\nIP6TABLES_TEST_RULESET=yes\nIPTABLES_RESTORE_NOFLUSH=yes\n';
  const r = box.run(plugin, ['ipv6', 'start'], env(defaults, { RULES_FILE: v6 }));
  assert.deepEqual(r.calls.map(show), [`ip6tables-safe-restore --test ${v6}`, `ip6tables-safe-restore ${v6}`]);
  const off = box.run(plugin, ['ipv6', 'start'], env(defaults, { RULES_FILE: v6, PROC_IPV6: box.path('no-ipv6') }));
  assert.equal(off.status, 0);
  assert.deepEqual(off.calls, []);
});

test('the plugin files hand their argument to the shared plugin with their family', () => {
  for (const [file, family] of [['15-ip4tables-safe', 'ipv4'], ['25-ip6tables-safe', 'ipv6']]) {
    const text = readFileSync(join(packaging, 'debian', file), 'utf8');
    assert.match(text, new RegExp(`^exec /usr/libexec/iptables-safe-restore/netfilter-persistent-plugin ${family} "\\$@"$`, 'm'));
  }
});

test('reconcile: one run per family with a rules file; the most serious status wins', () => {
  const reconcile = join(box.libexec, 'reconcile');
  const defaults = box.write('isr-defaults', `RULES_V4="${v4}"\nRULES_V6=${v6}\n`);
  const r = box.run(reconcile, [], { ISR_DEFAULTS: defaults, STUB_FAIL: `${v4}=7 ${v6}=6` });
  assert.equal(r.status, 7, 'repaired beats locked');
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore reconcile ${v4}`, `ip6tables-safe-restore reconcile ${v6}`]);
  assert.equal(box.run(reconcile, [], { ISR_DEFAULTS: defaults, STUB_FAIL: `${v4}=7 ${v6}=1` }).status, 1, 'an error beats repaired');
  assert.equal(box.run(reconcile, [], { ISR_DEFAULTS: defaults, STUB_FAIL: `${v4}=5 ${v6}=4` }).status, 5);
  assert.equal(box.run(reconcile, [], { ISR_DEFAULTS: defaults }).status, 0);
  // An empty value skips the family; a named file that is missing is an error.
  const only4 = box.write('isr-defaults-4', `RULES_V4=${v4}\nRULES_V6=\n`);
  assert.deepEqual(box.run(reconcile, [], { ISR_DEFAULTS: only4 }).calls.map(show), [`iptables-safe-restore reconcile ${v4}`]);
  const missing = box.write('isr-defaults-missing', `RULES_V4=${box.path('gone')}\nRULES_V6=\n`);
  const m = box.run(reconcile, [], { ISR_DEFAULTS: missing });
  assert.equal(m.status, 1);
  assert.match(m.stderr, /gone: no such rules file/);
  assert.equal(box.run(reconcile, ['--jitter', 'x'], { ISR_DEFAULTS: only4 }).status, 1);
  assert.equal(box.run(reconcile, ['--jitter', '0'], { ISR_DEFAULTS: only4 }).status, 0);
});

test('config.sh reads KEY=value forms as a shell would assign them, without running anything', () => {
  const file = box.write(
    'cfg',
    [
      '# comment',
      'A="two words" # trailing comment',
      "B='single $quoted'",
      '  export C=plain#comment',
      'D=first',
      'D=last',
      'E=',
      'AA=not-A',
      'F="$(id)"',
    ].join('\n'),
  );
  const get = (key: string) =>
    spawnSync('sh', ['-c', `. "${join(packaging, 'lib', 'config.sh')}"; config_get "$1" "$2"`, 'sh', file, key], { encoding: 'utf8' });
  assert.equal(get('A').stdout, 'two words\n');
  assert.equal(get('B').stdout, 'single $quoted\n');
  assert.equal(get('C').stdout, 'plain\n');
  assert.equal(get('D').stdout, 'last\n');
  assert.equal(get('E').stdout, '\n');
  assert.equal(get('E').status, 0, 'an empty value is set');
  assert.equal(get('Z').status, 1, 'an absent key is not');
  assert.equal(get('F').stdout, '$(id)\n');
  assert.match(get('F').stderr, /F=\$\(id\) is used literally/);
});
