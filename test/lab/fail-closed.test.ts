// Issue 19: the boot firewall fails closed. In the Docker lab (engine 28 unless
// ISR_LAB_FAIL_CLOSED_ENGINES says otherwise), node is made unavailable the way a host loses it —
// the packaged launcher (scripts/build-bundle) names an interpreter that is not there — and:
//  1. RHEL: packaging/rhel/iptables-service start, as the iptables.service drop-in runs it, on a
//     /etc/sysconfig/iptables saved on a Docker host;
//  2. Debian: the real /usr/sbin/netfilter-persistent start with our plugins (bind-mounted over
//     plugins.d in a private mount namespace of the lab host, as in services.test.ts);
// each still ends with the user's rules in force, checked by real connections from the client:
// port 22 answers (opened by the file), port 18098 is turned away the file's way. The stock
// iptables-restore did it (the wrappers say so, loudly). 3. The repair the message points to:
// node back, dockerd restarted (it rebuilds its chains), `reconcile` of the file: the published
// port answers again and the user's rules are still in force.
import { test, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot, skipOrFail } from '../helpers/root.js';
import { ENGINES, Lab, fixture, forEachEngine, repoRoot, type Engine, type RunResult } from '../helpers/lab.js';
import { save, said, type ToolContext } from '../helpers/lab-apply.js';
import { MountNamespace, assertAnswers, assertRejected, envWords, hostUrl, listen, toolShims } from '../helpers/lab-services.js';
import { linkLibexec } from '../helpers/stubs.js';

const engines = (process.env.ISR_LAB_FAIL_CLOSED_ENGINES ?? '28').split(',').map((s) => s.trim()).filter(Boolean);
const lab = new Lab(`pkgfc-${process.pid}`.slice(0, 16));
after(async () => {
  if (process.getuid?.() === 0) await lab.down();
});

const SSH = 22;
const CLOSED = 18098;
const PLUGINS_DIR = '/usr/share/netfilter-persistent/plugins.d';
const NETFILTER_PERSISTENT = '/usr/sbin/netfilter-persistent';

test('node unavailable at boot: the RHEL wrapper and netfilter-persistent still put the user\'s rules in force', { timeout: 900_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const unknown = engines.filter((e) => !(ENGINES as readonly string[]).includes(e));
  assert.deepEqual(unknown, [], `ISR_LAB_FAIL_CLOSED_ENGINES: unknown engines (${ENGINES.join(', ')})`);
  await forEachEngine(t, engines as Engine[], oneEngine);
});

const ok = (r: RunResult, what: string) => assert.equal(r.exitCode, 0, `${what}: ${said(r)}`);

async function oneEngine(t: TestContext, engine: Engine): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'isr-lab-pkgfc-'));
  const ctx: ToolContext = { lab, stateDir: join(dir, 'state'), lockFile: join(dir, 'lock') };
  const listeners: ReturnType<typeof listen>[] = [];
  let down: RunResult | undefined;
  try {
    // live-restore: the repair restarts dockerd, and the container must survive it
    const env = await lab.up(engine, 'default-bridge', { liveRestore: true });
    const published = hostUrl(lab, Number(env.PORT));
    const libexec = join(dir, 'libexec');
    mkdirSync(libexec);
    linkLibexec(libexec);
    // node unavailable: the real launcher, built to run a node that is not there
    const noNode = join(dir, 'no-node');
    mkdirSync(noNode);
    const b = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-bundle'), '--node', '/nonexistent/bin/node', '--out', join(noNode, 'launcher.mjs')], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    for (const name of ['iptables-safe-restore', 'ip6tables-safe-restore']) symlinkSync(join(noNode, 'launcher.mjs'), join(noNode, name));
    mkdirSync(join(dir, 'www'));
    for (const port of [SSH, CLOSED]) listeners.push(listen(lab, port, join(dir, 'www')));
    for (const port of [SSH, CLOSED]) await assertAnswers(lab, hostUrl(lab, port), `before: the listener on ${port}`);
    const exec = (args: string[], e: Record<string, string>) => lab.exec(['env', ...envWords(e), ...args], { timeoutMs: 120_000 });
    const userRulesInForce = async (when: string, rejects: RegExp, v6 = false) => {
      await assertAnswers(lab, hostUrl(lab, SSH), `${when}: ssh, opened by the file`);
      await assertRejected(lab, hostUrl(lab, CLOSED), rejects, `${when}: ${CLOSED}, not opened by the file`);
      if (v6) {
        await assertAnswers(lab, hostUrl(lab, SSH, true), `${when}: ssh over IPv6`);
        await assertRejected(lab, hostUrl(lab, CLOSED, true), rejects, `${when}: ${CLOSED} over IPv6`);
      }
    };
    const noUserRules = async (when: string) => {
      for (const cmd of ['iptables', 'ip6tables']) ok(await lab.exec([cmd, '-F', 'INPUT']), `${cmd} -F INPUT`);
      await assertAnswers(lab, hostUrl(lab, CLOSED), `${when}: ${CLOSED} answers with no user rules`);
    };

    // 1. RHEL: iptables.service's ExecStart with node gone
    await t.test('RHEL: iptables-service start loads /etc/sysconfig/iptables with the stock iptables-restore', async () => {
      await noUserRules('before the RHEL start');
      const rules = join(dir, 'sysconfig-iptables');
      copyFileSync(join(repoRoot, 'packaging', 'examples', 'rhel-saved-on-docker-host.rules'), rules);
      const config = join(dir, 'iptables-config');
      writeFileSync(config, 'IPTABLES_SAVE_COUNTER="no"\nIPTABLES_RESTORE_WAIT=600\n');
      const r = await exec([join(libexec, 'iptables-service'), 'start', 'ipv4'], {
        ISR_BIN_DIR: noNode, ISR_LIBEXEC_DIR: libexec, IPTABLES_CONFIG: config, RULES_FILE: rules, FALLBACK_FILE: `${rules}.fallback`,
      });
      ok(r, 'iptables-service start');
      assert.match(r.stderr, /iptables: iptables-safe-restore cannot run \(/);
      assert.match(r.stderr, /FAIL-CLOSED: .*sysconfig-iptables is in force \(stock iptables-restore\)/);
      assert.match(r.stderr, /to repair: /);
      await userRulesInForce('RHEL start without node', /No route to host|Host is unreachable/);
    });

    // 2. Debian: netfilter-persistent.service's ExecStart with node gone
    const etc = join(dir, 'etc-iptables');
    mkdirSync(etc);
    const rules = { ipv4: join(etc, 'rules.v4'), ipv6: join(etc, 'rules.v6') };
    await t.test('Debian: the real netfilter-persistent start loads rules.v4 and rules.v6 with the stock restores', async (t) => {
      if (!existsSync(NETFILTER_PERSISTENT) || !existsSync(PLUGINS_DIR) || !existsSync('/etc/iptables')) {
        skipOrFail(t, "Debian's netfilter-persistent is not installed (apt-get install iptables-persistent; .ci/run does)");
        return;
      }
      await noUserRules('before netfilter-persistent start');
      copyFileSync(fixture('debian-saved-on-docker-host.v4.rules'), rules.ipv4);
      copyFileSync(fixture('debian-saved-on-docker-host.v6.rules'), rules.ipv6);
      const plugins = join(dir, 'plugins.d');
      mkdirSync(plugins);
      for (const p of ['15-ip4tables-safe', '25-ip6tables-safe']) {
        const text = readFileSync(join(repoRoot, 'packaging', 'debian', p), 'utf8');
        writeFileSync(join(plugins, p), text.replaceAll('/usr/libexec/iptables-safe-restore/', `${libexec}/`), { mode: 0o755 });
      }
      const defaults = join(dir, 'netfilter-persistent');
      writeFileSync(defaults, 'FLUSH_ON_STOP=0\nIPTABLES_TEST_RULESET=yes\nIP6TABLES_TEST_RULESET=yes\n');
      const ns = await MountNamespace.open(lab);
      try {
        await ns.bind(plugins, PLUGINS_DIR);
        await ns.bind(etc, '/etc/iptables');
        await ns.bind(defaults, '/etc/default/netfilter-persistent');
        const r = await ns.run([NETFILTER_PERSISTENT, 'start'], { ISR_BIN_DIR: noNode, ISR_LIBEXEC_DIR: libexec });
        ok(r, 'netfilter-persistent start');
        assert.match(r.stderr, /iptables: FAIL-CLOSED: \/etc\/iptables\/rules\.v4 is in force/);
        assert.match(r.stderr, /ip6tables: FAIL-CLOSED: \/etc\/iptables\/rules\.v6 is in force/);
      } finally {
        await ns.close();
      }
      await userRulesInForce('netfilter-persistent start without node', /Connection refused/, true);
    });

    // 3. The repair: node back, dockerd restarted, reconcile
    await t.test('repair: dockerd restarted, then reconcile with node back: Docker answers, the user\'s rules stay', async () => {
      const restarted = await lab.restartDaemon();
      ok(restarted, 'docker-lab restart-daemon');
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      toolShims(bin, ctx);
      const file = existsSync(rules.ipv4) ? rules.ipv4 : join(dir, 'sysconfig-iptables');
      const r = await exec([join(bin, 'iptables-safe-restore'), 'reconcile', file], {});
      assert.ok(r.exitCode === 0 || r.exitCode === 7, `reconcile: in sync (0) or repaired (7): ${said(r)}`);
      await assertAnswers(lab, published, 'after the repair: the published port');
      assert.match(await save(lab, 'ipv4'), /-j DOCKER\b/, "after the repair: Docker's chains are back");
      await userRulesInForce('after the repair', existsSync(rules.ipv4) ? /Connection refused/ : /No route to host|Host is unreachable/);
    });
  } finally {
    for (const l of listeners) l.kill('SIGKILL');
    await Promise.all(listeners);
    down = await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(down.exitCode, 0, `docker-lab down ${lab.instance}: ${down.stderr}`);
}
