// The RHEL service wrapper (packaging/rhel/iptables-service) and the legacy save action,
// offline: the tool, modprobe and sysctl are stubs recording their argv (test/helpers/stubs.ts),
// iptables-config is a file of ours. Expected argv are those the stock iptables.init gives
// iptables-restore for the same settings (RHEL 8/9 iptables-services).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Sandbox, show } from '../helpers/stubs.js';

const box = new Sandbox();
after(() => box.cleanup());
const service = join(box.libexec, 'iptables-service');
const rules = box.write('iptables', '*filter\nCOMMIT\n');
const rules6 = box.write('ip6tables', '*filter\nCOMMIT\n');
const sysctlDir = box.path('sysctl.d');
mkdirSync(sysctlDir);
writeFileSync(join(sysctlDir, '50-ct.conf'), 'net.netfilter.nf_conntrack_max = 262144\nnet.ipv4.ip_forward = 1\n');

const env = (config: string, extra: Record<string, string | undefined> = {}) => ({
  IPTABLES_CONFIG: box.write('iptables-config', config),
  RULES_FILE: rules,
  SYSCTL_DIR: sysctlDir,
  ...extra,
});

const fullConfig = `# iptables-config as RHEL ships it, with settings changed
IPTABLES_MODULES="nf_conntrack_ftp nf_nat_ftp"
IPTABLES_MODULES_UNLOAD="yes"
IPTABLES_SAVE_ON_STOP="yes"
IPTABLES_SAVE_ON_RESTART="no"
IPTABLES_SAVE_COUNTER="yes"
IPTABLES_STATUS_NUMERIC="yes"
IPTABLES_SYSCTL_LOAD_LIST=".nf_conntrack"
IPTABLES_RESTORE_WAIT=30
IPTABLES_RESTORE_WAIT_INTERVAL=5000
`;

test('start: the twin restores the file with the stock options, then modules and sysctl', () => {
  const r = box.run(service, ['start', 'ipv4'], env(fullConfig));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls.map(show), [
    `iptables-safe-restore -c --wait 30 --wait-interval 5000 ${rules}`,
    'modprobe -- nf_conntrack_ftp',
    'modprobe -- nf_nat_ftp',
    'sysctl -p -',
  ]);
  assert.equal(r.calls[3].stdin, 'net.netfilter.nf_conntrack_max = 262144');
});

test('start with no iptables-config: --wait 600 and nothing else (the stock defaults)', () => {
  const r = box.run(service, ['start'], { IPTABLES_CONFIG: box.path('absent-config'), RULES_FILE: rules });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore --wait 600 ${rules}`]);
});

test('start: IPTABLES_RESTORE_WAIT=0 passes no --wait; an interval of 1000000 or more is not passed', () => {
  const r = box.run(service, ['start'], env('IPTABLES_RESTORE_WAIT=0\nIPTABLES_RESTORE_WAIT_INTERVAL=5\n'));
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore ${rules}`]);
  const s = box.run(service, ['start'], env('IPTABLES_RESTORE_WAIT_INTERVAL=1000000\n'));
  assert.deepEqual(s.calls.map(show), [`iptables-safe-restore --wait 600 ${rules}`]);
});

test('start: when the file fails to load, the fallback file is restored and start succeeds', () => {
  const fallback = box.write('iptables.fallback', '*filter\nCOMMIT\n');
  const r = box.run(service, ['start'], env('', { STUB_FAIL: `${rules}=4` }));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore --wait 600 ${rules}`, `iptables-safe-restore --wait 600 ${fallback}`]);
  assert.match(r.stderr, /failed to load \(exit 4\); applying the fallback rules/);
  // Both fail: the fallback's status, no modules loaded.
  const f = box.run(service, ['start'], env('IPTABLES_MODULES="nf_nat_ftp"\n', { STUB_FAIL: `${rules}=4 ${fallback}=5` }));
  assert.equal(f.status, 5);
  assert.deepEqual(f.calls.map((c) => c.prog), ['iptables-safe-restore', 'iptables-safe-restore']);
  // No fallback file: the first failure's status.
  const n = box.run(service, ['start'], env('', { STUB_FAIL: `${rules}=1`, FALLBACK_FILE: box.path('no-fallback') }));
  assert.equal(n.status, 1);
  assert.equal(n.calls.length, 1);
});

test('start with no rules file: exit 6 (as the stock script), the tool is not run', () => {
  const r = box.run(service, ['start'], env('', { RULES_FILE: box.path('missing') }));
  assert.equal(r.status, 6);
  assert.deepEqual(r.calls, []);
  assert.match(r.stderr, /no rules file/);
});

test('stop: saves first with IPTABLES_SAVE_ON_STOP=yes (with -c for counters), then `stop`', () => {
  const r = box.run(service, ['stop'], env(fullConfig));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore save -c --out ${rules}`, 'iptables-safe-restore stop']);
  const plain = box.run(service, ['stop'], env('IPTABLES_SAVE_ON_STOP=no\n'));
  assert.deepEqual(plain.calls.map(show), ['iptables-safe-restore stop']);
  // A failed save does not keep the firewall from stopping (the stock script does the same).
  const failed = box.run(service, ['stop'], env('IPTABLES_SAVE_ON_STOP=yes\n', { STUB_FAIL: 'save=1' }));
  assert.equal(failed.status, 0);
  assert.deepEqual(failed.calls.map(show), [`iptables-safe-restore save --out ${rules}`, 'iptables-safe-restore stop']);
});

test('reload: restores without stopping, never the fallback; its failure is the exit status', () => {
  box.write('iptables.fallback', '*filter\nCOMMIT\n');
  const r = box.run(service, ['reload'], env(fullConfig));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls.map(show).slice(0, 1), [`iptables-safe-restore -c --wait 30 --wait-interval 5000 ${rules}`]);
  const f = box.run(service, ['reload'], env('', { STUB_FAIL: `${rules}=4` }));
  assert.equal(f.status, 4);
  assert.deepEqual(f.calls.map(show), [`iptables-safe-restore --wait 600 ${rules}`]);
});

test('save: Docker-free save to the rules file; restart saves only with IPTABLES_SAVE_ON_RESTART=yes', () => {
  const r = box.run(service, ['save'], env('IPTABLES_SAVE_COUNTER=no\n'));
  assert.deepEqual(r.calls.map(show), [`iptables-safe-restore save --out ${rules}`]);
  const rs = box.run(service, ['restart'], env('IPTABLES_SAVE_ON_RESTART=yes\n'));
  assert.deepEqual(rs.calls.map(show), [`iptables-safe-restore save --out ${rules}`, 'iptables-safe-restore stop', `iptables-safe-restore --wait 600 ${rules}`]);
});

test('ipv6: ip6tables-safe-restore with the IP6TABLES_* keys; IPTABLES_* keys do not apply', () => {
  const config = 'IPTABLES_SAVE_COUNTER=yes\nIP6TABLES_RESTORE_WAIT=5\nIP6TABLES_SAVE_ON_STOP=yes\n';
  const r = box.run(service, ['start', 'ipv6'], env(config, { RULES_FILE: rules6 }));
  assert.deepEqual(r.calls.map(show), [`ip6tables-safe-restore --wait 5 ${rules6}`]);
  const s = box.run(service, ['stop', 'ipv6'], env(config, { RULES_FILE: rules6 }));
  assert.deepEqual(s.calls.map(show), [`ip6tables-safe-restore save --out ${rules6}`, 'ip6tables-safe-restore stop']);
});

test('the config file is read, never run: command substitutions stay text, odd module names are refused', () => {
  const marker = box.path('pwned');
  const config = [
    `touch ${marker}`,
    `IPTABLES_MODULES="$(touch ${marker}) -r nf_nat"`,
    `IPTABLES_SAVE_COUNTER=\`touch ${marker}\``,
  ].join('\n');
  const r = box.run(service, ['start'], env(config));
  assert.equal(existsSync(marker), false, 'a line of the config file was executed');
  assert.equal(r.status, 1, 'refused module names make start fail, as a failed modprobe does');
  assert.equal(r.calls[0].args.includes('-c'), false);
  assert.deepEqual(r.calls.filter((c) => c.prog === 'modprobe').map(show), ['modprobe -- nf_nat']);
  assert.match(r.stderr, /'-r' is not a module name/);
  assert.match(r.stderr, /is used literally/);
});

test('a wait that is not a number is an error naming the key; nothing is restored', () => {
  const r = box.run(service, ['start'], env('IPTABLES_RESTORE_WAIT="soon"\n', { FALLBACK_FILE: box.path('none') }));
  assert.equal(r.status, 1);
  assert.deepEqual(r.calls, []);
  assert.match(r.stderr, /IPTABLES_RESTORE_WAIT="soon" is not a whole number/);
});

test('unknown action or family: usage, exit 2', () => {
  assert.equal(box.run(service, ['panic'], env('')).status, 2);
  assert.equal(box.run(service, ['start', 'ipv5'], env('')).status, 2);
});

test('legacy-actions: install keeps the stock save action once, ours runs the wrapper; uninstall puts it back', () => {
  const actions = box.path('legacy-actions');
  const stock = box.path('stock');
  mkdirSync(join(actions, 'iptables'), { recursive: true });
  const stockText = '#!/bin/sh\nexec /usr/libexec/iptables/iptables.init save\n';
  writeFileSync(join(actions, 'iptables', 'save'), stockText);
  chmodSync(join(actions, 'iptables', 'save'), 0o755);
  const la = join(box.libexec, 'legacy-actions');
  const laEnv = { LEGACY_ACTIONS_DIR: actions, ISR_STOCK_DIR: stock };

  assert.equal(box.run(la, ['install'], laEnv).status, 0);
  assert.equal(box.run(la, ['install'], laEnv).status, 0, 'install twice');
  const ours = readFileSync(join(actions, 'iptables', 'save'), 'utf8');
  assert.match(ours, new RegExp(`exec ${box.libexec}/iptables-service save ipv4\\n$`));
  assert.equal(readFileSync(join(stock, 'iptables.save'), 'utf8'), stockText, 'the second install must not back up our own file');
  assert.equal(statSync(stock).mode & 0o777, 0o700);
  assert.equal(existsSync(join(actions, 'ip6tables')), false, 'no ip6tables directory: nothing is created');

  // `service iptables save` now runs our wrapper's save.
  const saved = spawnSync(join(actions, 'iptables', 'save'), [], {
    env: { ...process.env, PATH: `${box.bin}:${process.env.PATH}`, ISR_BIN_DIR: box.bin, ISR_LIBEXEC_DIR: box.libexec, STUB_LOG: box.log, IPTABLES_CONFIG: box.path('none'), RULES_FILE: rules },
    encoding: 'utf8',
  });
  assert.equal(saved.status, 0, saved.stderr);
  assert.deepEqual(box.takeCalls().map(show), [`iptables-safe-restore save --out ${rules}`]);

  // An iptables-services upgrade rewrites the file: install (the RPM trigger) keeps the new stock one.
  const newer = '#!/bin/sh\n# newer\nexec /usr/libexec/iptables/iptables.init save\n';
  writeFileSync(join(actions, 'iptables', 'save'), newer);
  assert.equal(box.run(la, ['install'], laEnv).status, 0);
  assert.equal(readFileSync(join(stock, 'iptables.save'), 'utf8'), newer);
  assert.match(box.run(la, ['status'], laEnv).stdout, /iptables: save action is Docker-safe/);

  assert.equal(box.run(la, ['uninstall'], laEnv).status, 0);
  assert.equal(readFileSync(join(actions, 'iptables', 'save'), 'utf8'), newer);
  assert.equal(statSync(join(actions, 'iptables', 'save')).mode & 0o777, 0o755);
  assert.equal(existsSync(stock), false);
  assert.match(box.run(la, ['status'], laEnv).stdout, /iptables: stock save action/);
});
