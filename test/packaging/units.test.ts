// The systemd units (packaging/systemd/): `systemd-analyze verify` on them, and their sandboxing
// scored by `systemd-analyze security --offline=true` (systemd >= 250) — the reconcile service
// must score 4.0 ("OK") or better; the score is printed (t.diagnostic). The recover service
// carries the same sandbox. That the reconcile still repairs drift under these constraints is
// test/lab/sandbox.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';
import { skipOrFail } from '../helpers/root.js';

const units = join(repoRoot, 'packaging', 'systemd');
const reconcile = join(units, 'iptables-safe-restore-reconcile.service');
const recover = join(units, 'iptables-safe-restore-recover.service');
const haveAnalyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;

/** The exposure `systemd-analyze security` gives a unit file, offline. */
function exposure(unit: string): { score: number; verdict: string; text: string } {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', unit], { encoding: 'utf8', env: { ...process.env, SYSTEMD_COLORS: '0' } });
  const m = /Overall exposure level for \S+: (\d+\.\d) (\w+)/.exec(r.stdout);
  assert.ok(m, `systemd-analyze security printed no score: ${r.stdout.slice(-300)}${r.stderr}`);
  return { score: Number(m[1]), verdict: m[2], text: r.stdout };
}

/** KEY=VALUE lines of a unit's [Service] section, in order (comments out). */
function serviceSettings(unit: string): [string, string][] {
  const text = readFileSync(unit, 'utf8');
  const from = text.indexOf('[Service]');
  const to = text.indexOf('\n[', from + 1);
  const service = text.slice(from, to < 0 ? undefined : to);
  return service.split('\n').filter((l) => /^[A-Z]\w*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

test('systemd-analyze security: the reconcile service scores 4.0 ("OK") or better, and so does recover', (t) => {
  if (!haveAnalyze) { skipOrFail(t, 'systemd-analyze is not installed (package systemd)'); return; }
  for (const unit of [reconcile, recover]) {
    const e = exposure(unit);
    t.diagnostic(`${unit.slice(unit.lastIndexOf('/') + 1)}: exposure ${e.score} ${e.verdict} (was 9.6 UNSAFE before issue 19)`);
    assert.ok(e.score <= 4.0, `${unit}: exposure ${e.score} ${e.verdict} > 4.0:\n${e.text.split('\n').filter((l) => l.startsWith('✗')).join('\n')}`);
  }
});

test('the sandbox: only the capabilities iptables and the throwaway namespace need; the system read-only but for the state and /run', () => {
  const s = new Map(serviceSettings(reconcile));
  assert.equal(s.get('CapabilityBoundingSet'), 'CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN');
  assert.equal(s.get('NoNewPrivileges'), 'yes');
  assert.equal(s.get('ProtectSystem'), 'strict');
  assert.equal(s.get('ReadWritePaths'), '/var/lib/iptables-safe-restore /run');
  assert.equal(s.get('ProtectHome'), 'yes');
  assert.equal(s.get('PrivateTmp'), 'yes');
  assert.equal(s.get('RestrictAddressFamilies'), 'AF_UNIX AF_NETLINK AF_INET AF_INET6');
  assert.equal(s.get('RestrictNamespaces'), 'net');
  assert.match(s.get('SystemCallFilter') ?? '', /^~/, 'a deny list after the allow list');
  assert.ok(serviceSettings(reconcile).some(([k, v]) => k === 'SystemCallFilter' && v === '@system-service @mount'));
  // node's JIT needs writable executable memory: MemoryDenyWriteExecute would kill it
  assert.equal(s.has('MemoryDenyWriteExecute'), false);
  // the recover service: the same sandbox (everything after its ExecStart)
  const sandbox = (unit: string) => serviceSettings(unit).filter(([k]) => !['Type', 'ExecStart', 'SuccessExitStatus', 'Nice'].includes(k));
  assert.deepEqual(sandbox(recover), sandbox(reconcile));
});

test('systemd-analyze verify: the units parse, name real targets and documentation, and nothing but the absent binaries is reported', (t) => {
  if (!haveAnalyze) { skipOrFail(t, 'systemd-analyze is not installed (package systemd)'); return; }
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...['iptables-safe-restore-reconcile.service', 'iptables-safe-restore-reconcile.timer', 'iptables-safe-restore-recover.service'].map((u) => join(units, u))], { encoding: 'utf8' });
  // Offline the ExecStart programs are not installed on this machine: the one complaint allowed.
  const other = (r.stdout + r.stderr).split('\n').filter((l) => l && !/: Command \/usr\/(libexec\/iptables-safe-restore\/reconcile|sbin\/iptables-safe-restore) is not executable: No such file or directory$/.test(l));
  assert.deepEqual(other, []);
});
