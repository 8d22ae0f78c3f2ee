// What the service verbs stand on: journald priorities on stderr, reconcile's default file,
// the configuration's ruleset settings, and rule counters in the minimal restore input (-c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stderrIsJournal, stderrText } from '../../src/ui/output.js';
import { defaultRulesFile } from '../../src/commands/reconcile.js';
import { parseConfig } from '../../src/core/config.js';
import { parseRuleset } from '../../src/core/parse.js';
import { restoreInputs } from '../../src/core/restore-input.js';
import { writeRuleset } from '../../src/core/write.js';
import { repoRoot } from '../helpers/fixtures.js';

test('stderr lines carry <3>/<4>/<6> only when stderr is the journal', () => {
  assert.equal(stderrText('p', 'bad\nsecond', 'err', true), '<3>p: bad\n<3>second\n');
  assert.equal(stderrText('p', 'careful', 'warning', true), '<4>p: careful\n');
  assert.equal(stderrText('p', 'fyi', 'info', false), 'p: fyi\n');
  assert.equal(stderrIsJournal({}), false);
  assert.equal(stderrIsJournal({ JOURNAL_STREAM: '1:2' }), false, 'a JOURNAL_STREAM naming another stream (stderr redirected) is not the journal');
});

test('a run whose stderr is the stream JOURNAL_STREAM names marks its errors <3>', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isr-journal-'));
  try {
    const errFile = join(dir, 'stderr');
    const fd = openSync(errFile, 'w');
    const st = fstatSync(fd);
    const env = { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` };
    const bin = join(repoRoot, 'bin', 'iptables-safe-restore');
    const r = spawnSync(process.execPath, [bin, 'check', join(dir, 'nope')], { env, stdio: ['ignore', 'pipe', fd] });
    closeSync(fd);
    assert.equal(r.status, 1);
    assert.equal(readFileSync(errFile, 'utf8'), `<3>iptables-safe-restore: ${join(dir, 'nope')}: cannot read: no such file\n`);
    const plain = spawnSync(process.execPath, [bin, 'check', join(dir, 'nope')], { env, encoding: 'utf8' });
    assert.equal(plain.stderr, `iptables-safe-restore: ${join(dir, 'nope')}: cannot read: no such file\n`, 'stderr a pipe, not the journal: no marker');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("reconcile's FILE: the configured one, else the first that exists of the distributions' places", () => {
  const has = (paths: string[]) => (p: string) => paths.includes(p);
  assert.equal(defaultRulesFile('ipv4', {}, has(['/etc/sysconfig/iptables', '/etc/iptables/rules.v4'])), '/etc/sysconfig/iptables');
  assert.equal(defaultRulesFile('ipv4', {}, has(['/etc/iptables/rules.v4'])), '/etc/iptables/rules.v4');
  assert.equal(defaultRulesFile('ipv6', {}, has(['/etc/iptables/rules.v6', '/etc/sysconfig/iptables'])), '/etc/iptables/rules.v6');
  assert.equal(defaultRulesFile('ipv4', { rules: { ipv4: '/srv/fw.v4' } }, has([])), '/srv/fw.v4');
  assert.throws(() => defaultRulesFile('ipv6', { rules: { ipv4: '/srv/fw.v4' } }, has([])),
    /none of \/etc\/sysconfig\/ip6tables, \/etc\/iptables\/rules.v6 exists \(give FILE, or set rules-ipv6 in the configuration\)/);
  assert.deepEqual(parseConfig('rules-ipv4 = /etc/fw.v4\nrules-ipv6 = /etc/fw.v6\n', 'c').rules, { ipv4: '/etc/fw.v4', ipv6: '/etc/fw.v6' });
  assert.throws(() => parseConfig('rules-ipv4 = fw.v4\n', 'c'), /c:1: rules-ipv4 must be an absolute path/);
});

test('with counters, every rule written carries its [p:b]; without, none does', () => {
  const parse = (t: string) => parseRuleset(t, { file: 'f', family: 'ipv4' }).ruleset;
  const live = parse('*filter\n:INPUT ACCEPT [0:0]\n:MINE - [0:0]\n-A INPUT -j MINE\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n-A MINE -j ACCEPT\nCOMMIT\n');
  const target = parse('*filter\n:INPUT ACCEPT [0:0]\n:MINE - [0:0]\n:NEW - [0:0]\n[1:2] -A INPUT -j MINE\n[3:4] -A INPUT -s 10.0.0.9/32 -j ACCEPT\n[5:6] -A INPUT -s 10.0.0.1/32 -j ACCEPT\n[7:8] -A NEW -j DROP\n[9:10] -A MINE -j ACCEPT\nCOMMIT\n');
  const own = { ownedChains: () => new Set<string>(), isOwnedRule: () => false };
  const [w] = restoreInputs(live, target, own, { counters: true });
  // INPUT's tail after the unchanged first rule is deleted and appended again (restore-input.ts
  // tailRewrite); the first rule and MINE are left in place, with the kernel's counters
  assert.equal(w.input, '*filter\n-N NEW\n-D INPUT -s 10.0.0.1/32 -j ACCEPT\n[3:4] -A INPUT -s 10.0.0.9/32 -j ACCEPT\n[5:6] -A INPUT -s 10.0.0.1/32 -j ACCEPT\n[7:8] -A NEW -j DROP\nCOMMIT\n');
  const [plain] = restoreInputs(live, target, own);
  assert.equal(plain.input, w.input.replace(/\[\d+:\d+\] /g, ''));
  // a chain edited with positions (-I N) carries them too
  const chainLive = parse('*filter\n:MINE - [0:0]\n' + Array.from({ length: 12 }, (_, i) => `-A MINE -s 10.1.0.${i}/32 -j ACCEPT`).join('\n') + '\nCOMMIT\n');
  const chainTarget = parse(writeRuleset(chainLive).replace('-A MINE -s 10.1.0.5/32 -j ACCEPT', '-A MINE -s 10.1.0.5/32 -j ACCEPT\n[11:12] -A MINE -s 10.1.0.99/32 -j DROP'));
  assert.equal(restoreInputs(chainLive, chainTarget, own, { counters: true })[0].input, '*filter\n[11:12] -I MINE 7 -s 10.1.0.99/32 -j DROP\nCOMMIT\n');
});
