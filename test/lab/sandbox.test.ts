// Issue 19: the timer's reconcile still repairs drift under the sandbox of
// iptables-safe-restore-reconcile.service. systemd is not PID 1 on the machines that run the
// tests (CI containers), so the unit cannot be started; instead its constraints that matter
// for the work are rebuilt from the unit file itself and applied to the same ExecStart in the
// Docker lab's host namespace:
//  - CapabilityBoundingSet= and NoNewPrivileges=yes: setpriv --bounding-set, --no-new-privs;
//  - ProtectSystem=strict + ReadWritePaths=: a private mount namespace (unshare --mount) where
//    every ReadWritePaths entry is bind-mounted onto itself and then / is remounted read-only;
//  - PrivateTmp=yes: fresh tmpfs on /tmp and /var/tmp; ProtectHome=yes: /home and /root
//    hidden under empty read-only tmpfs; ProtectKernelTunables=yes: /proc/sys read-only.
// Not rebuilt (no tool here applies them outside systemd): SystemCallFilter, RestrictAddressFamilies,
// RestrictNamespaces, IPAddressDeny, PrivateDevices, ProtectProc; the unit's score is
// test/packaging/units.test.ts. The sandbox is checked first (the bounding set in
// /proc/self/status, NoNewPrivs, writes refused under /usr, /etc and /var/lib, /tmp empty),
// then drift is made by hand (the user's REJECT deleted: port 18098 answers) and the sandboxed
// reconcile repairs it (exit 7; 18098 turned away again; the published port still answers).
// The test's files live under /run (writable in the unit), the state in a directory there.
import { test, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { ENGINES, Lab, fixture, forEachEngine, repoRoot, type Engine, type RunResult } from '../helpers/lab.js';
import { said, save, type ToolContext } from '../helpers/lab-apply.js';
import { assertAnswers, assertRejected, envWords, hostUrl, listen, toolShims } from '../helpers/lab-services.js';
import { linkLibexec } from '../helpers/stubs.js';

const engines = (process.env.ISR_LAB_SANDBOX_ENGINES ?? '28').split(',').map((s) => s.trim()).filter(Boolean);
const lab = new Lab(`pkgsb-${process.pid}`.slice(0, 16));
after(async () => {
  if (process.getuid?.() === 0) await lab.down();
});
const UNIT = join(repoRoot, 'packaging', 'systemd', 'iptables-safe-restore-reconcile.service');
const SSH = 22;
const CLOSED = 18098;

/** One setting of the unit's [Service] section (the last one wins, as in systemd). */
function setting(key: string): string {
  const lines = readFileSync(UNIT, 'utf8').split('\n').filter((l) => l.startsWith(`${key}=`));
  assert.ok(lines.length > 0, `${UNIT} has no ${key}=`);
  return lines[lines.length - 1].slice(key.length + 1);
}

/** The argv that runs ARGS under the unit's constraints (see the header), and the bounding set's mask. */
function sandboxed(args: string[]): { argv: string[]; capMask: bigint } {
  const caps = setting('CapabilityBoundingSet').split(/\s+/);
  const bits: Record<string, number> = { CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_ADMIN: 21 };
  for (const c of caps) assert.ok(c in bits, `capability ${c}: add its bit number here`);
  assert.equal(setting('NoNewPrivileges'), 'yes');
  assert.equal(setting('ProtectSystem'), 'strict');
  assert.equal(setting('PrivateTmp'), 'yes');
  assert.equal(setting('ProtectHome'), 'yes');
  assert.equal(setting('ProtectKernelTunables'), 'yes');
  const rw = setting('ReadWritePaths').split(/\s+/);
  const script = [
    'set -eu',
    // ReadWritePaths: their own mounts (with what is mounted under them), kept writable
    'for p in $ISR_RW; do if [ -d "$p" ]; then mount --rbind "$p" "$p"; fi; done',
    // ProtectSystem=strict: the rest read-only
    'mount -o remount,bind,ro /',
    'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys',
    'mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o mode=1777 tmpfs /var/tmp',
    'for h in /home /root; do if [ -d "$h" ]; then mount -t tmpfs -o ro,mode=0755 tmpfs "$h"; fi; done',
    `exec setpriv --bounding-set=-all,${caps.map((c) => `+${c.slice(4).toLowerCase()}`).join(',')} --inh-caps=-all --no-new-privs -- "$@"`,
  ].join('\n');
  const capMask = caps.reduce((m, c) => m | (1n << BigInt(bits[c])), 0n);
  return { argv: ['env', `ISR_RW=${rw.join(' ')}`, 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sandbox', ...args], capMask };
}

test('the timer\'s reconcile repairs drift under the reconcile unit\'s sandbox', { timeout: 600_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const unknown = engines.filter((e) => !(ENGINES as readonly string[]).includes(e));
  assert.deepEqual(unknown, [], `ISR_LAB_SANDBOX_ENGINES: unknown engines (${ENGINES.join(', ')})`);
  await forEachEngine(t, engines as Engine[], oneEngine);
});

const ok = (r: RunResult, what: string) => assert.equal(r.exitCode, 0, `${what}: ${said(r)}`);

async function oneEngine(t: TestContext, engine: Engine): Promise<void> {
  mkdirSync('/run/isr-pkg', { recursive: true, mode: 0o700 });
  const dir = mkdtempSync('/run/isr-pkg/sandbox-');
  const ctx: ToolContext = { lab, stateDir: join(dir, 'state'), lockFile: join(dir, 'lock') };
  const listeners: ReturnType<typeof listen>[] = [];
  let down: RunResult | undefined;
  try {
    const env = await lab.up(engine, 'default-bridge');
    const paths = { ISR_BIN_DIR: join(dir, 'bin'), ISR_LIBEXEC_DIR: join(dir, 'libexec') };
    mkdirSync(paths.ISR_BIN_DIR);
    mkdirSync(paths.ISR_LIBEXEC_DIR);
    toolShims(paths.ISR_BIN_DIR, ctx);
    linkLibexec(paths.ISR_LIBEXEC_DIR);
    mkdirSync(join(dir, 'www'));
    for (const port of [SSH, CLOSED]) listeners.push(listen(lab, port, join(dir, 'www')));
    const rules = { v4: join(dir, 'rules.v4'), v6: join(dir, 'rules.v6') };
    copyFileSync(fixture('debian-saved-on-docker-host.v4.rules'), rules.v4);
    copyFileSync(fixture('debian-saved-on-docker-host.v6.rules'), rules.v6);
    const defaults = join(dir, 'defaults');
    writeFileSync(defaults, `RULES_V4=${rules.v4}\nRULES_V6=${rules.v6}\n`);
    const inSandbox = (args: string[]) => {
      const s = sandboxed(args);
      return { run: lab.exec(['env', ...envWords({ ...paths, ISR_DEFAULTS: defaults }), ...s.argv], { timeoutMs: 180_000 }), capMask: s.capMask };
    };

    // the sandbox holds: the bounding set, no new privileges, the system read-only, a private /tmp
    const probe = inSandbox(['sh', '-c', [
      "grep -E '^(CapBnd|NoNewPrivs):' /proc/self/status",
      'for p in /usr/isr-probe /etc/isr-probe /var/lib/isr-probe; do if touch "$p" 2>/dev/null; then rm -f "$p"; echo "writable: $p"; fi; done',
      'ls -A /tmp | wc -l',
      `touch ${dir}/rw-probe && echo "run writable"`,
    ].join('\n')]);
    const p = await probe.run;
    ok(p, 'the sandbox probe');
    assert.match(p.stdout, new RegExp(`^CapBnd:\\s+${probe.capMask.toString(16).padStart(16, '0')}$`, 'm'), `bounding set: ${p.stdout}`);
    assert.match(p.stdout, /^NoNewPrivs:\s+1$/m);
    assert.doesNotMatch(p.stdout, /writable: /, 'ProtectSystem=strict: nothing outside ReadWritePaths is writable');
    assert.match(p.stdout, /^0\n/m, 'PrivateTmp: /tmp is empty');
    assert.match(p.stdout, /^run writable$/m);
    t.diagnostic(`sandbox: ${p.stdout.trim().replace(/\n/g, ' | ')}`);

    const reconcile = async (when: string) => {
      const r = await inSandbox([join(paths.ISR_LIBEXEC_DIR, 'reconcile')]).run;
      t.diagnostic(`${when}: ${said(r).replace(/\n/g, ' | ')}`);
      return r;
    };
    await assertAnswers(lab, hostUrl(lab, CLOSED), 'before: no user rules, 18098 answers');
    // first run: the files are not in force yet: applied (repaired, 7)
    const first = await reconcile('first reconcile');
    assert.equal(first.exitCode, 7, `first reconcile repairs (7): ${said(first)}`);
    await assertRejected(lab, hostUrl(lab, CLOSED), /Connection refused/, 'after the first reconcile');
    await assertAnswers(lab, hostUrl(lab, SSH), 'after the first reconcile: ssh');
    const inSync = await reconcile('in sync');
    assert.equal(inSync.exitCode, 0, `in sync: ${said(inSync)}`);
    assert.equal(inSync.stdout + inSync.stderr, '');

    // drift: an admin deletes the user's REJECT by hand
    ok(await lab.exec(['iptables', '-D', 'INPUT', '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset']), 'iptables -D INPUT … REJECT');
    await assertAnswers(lab, hostUrl(lab, CLOSED), 'drift: 18098 answers');
    const repaired = await reconcile('after drift');
    assert.equal(repaired.exitCode, 7, `reconcile repairs the drift (7): ${said(repaired)}`);
    assert.match(repaired.stdout, /repaired: the live ruleset had drifted from /);
    await assertRejected(lab, hostUrl(lab, CLOSED), /Connection refused/, 'after the repair');
    await assertAnswers(lab, hostUrl(lab, Number(env.PORT)), 'after the repair: the published port');
    assert.match(await save(lab, 'ipv4'), /-A INPUT -p tcp -j REJECT --reject-with tcp-reset/);
  } finally {
    for (const l of listeners) l.kill('SIGKILL');
    await Promise.all(listeners);
    down = await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(down.exitCode, 0, `docker-lab down ${lab.instance}: ${down.stderr}`);
}
