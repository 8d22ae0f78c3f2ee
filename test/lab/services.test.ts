// Issue 7 acceptance for the service flows, in the Docker lab, on every engine (20.10, 26, 28; scenario
// default-bridge; one lab per engine, the three flows in turn on it). The packaging's scripts run for real in
// the lab's host namespace, with ISR_BIN_DIR pointing at shims around this checkout's bin/ (lab-services.ts):
//  1. RHEL: packaging/rhel/iptables-service as the systemd drop-in runs it, on the stock file saved on a Docker
//     host (packaging/examples/rhel-saved-on-docker-host.rules: stale Docker rules baked in) — stop then start
//     (`systemctl restart iptables`), reload, `service iptables save` (the save action legacy-actions installs),
//     then a rule added by hand, stop with IPTABLES_SAVE_ON_STOP=yes, start;
//  2. Debian: Debian's own /usr/sbin/netfilter-persistent (package iptables-persistent, installed by .ci/run) with
//     our plugins, in a private mount namespace inside the lab host where temp copies are bind-mounted over
//     plugins.d, /etc/iptables and /etc/default/netfilter-persistent — start, save, flush, start, reload, then
//     flush and start with IPTABLES_TEST_RULESET=yes and IPTABLES_RESTORE_NOFLUSH=yes;
//  3. cron/timer: packaging/lib/reconcile right after Docker starts another container with a published port.
// After every step: the published port answers from the client at the host IP, Docker's chains and rules are all
// there, and the user's rules are in force (port 22 answers, port 18098 is turned away as the file says) or, after
// stop/flush, gone (18098 answers). Every file saved is Docker-free and `plan` on it finds nothing to change; the
// cron run prints nothing and changes nothing.
import { test, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot, skipOrFail } from '../helpers/root.js';
import { ENGINES, Lab, fixture, forEachEngine, repoRoot, type Engine, type RunResult } from '../helpers/lab.js';
import { assertDockerKept, parse, plan, save, said, type ToolContext } from '../helpers/lab-apply.js';
import { MountNamespace, assertAnswers, assertRejected, envWords, hostUrl, listen, toolShims } from '../helpers/lab-services.js';
import { linkLibexec } from '../helpers/stubs.js';
import type { Family, Ruleset } from '../../src/core/model.js';

// ISR_LAB_SERVICES_ENGINES=28 (comma-separated) runs fewer engines while developing.
const engines = (process.env.ISR_LAB_SERVICES_ENGINES ?? ENGINES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const lab = new Lab(`svc-${process.pid}`);
after(async () => {
  if (process.getuid?.() === 0) await lab.down();
});

const SSH = 22; // opened by both files
const CLOSED = 18098; // opened by neither
const BY_HAND = 18099; // opened by a rule added by hand (RHEL step 4)
const EXTRA = 18082; // the container Docker adds before the cron run
const PLUGINS_DIR = '/usr/share/netfilter-persistent/plugins.d';
const NETFILTER_PERSISTENT = '/usr/sbin/netfilter-persistent';

test('RHEL and Debian service flows and a cron reconcile in the lab keep Docker answering', { timeout: 1_200_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const unknown = engines.filter((e) => !(ENGINES as readonly string[]).includes(e));
  assert.deepEqual(unknown, [], `ISR_LAB_SERVICES_ENGINES: unknown engines (${ENGINES.join(', ')})`);
  await forEachEngine(t, engines as Engine[], oneEngine);
});

/** What every flow shares on one engine's lab. */
interface Host {
  dir: string;
  ctx: ToolContext;
  /** ISR_BIN_DIR (the shims) and ISR_LIBEXEC_DIR (packaging/ laid out as installed). */
  paths: { ISR_BIN_DIR: string; ISR_LIBEXEC_DIR: string };
  /** Docker's rules alone, as the fresh lab holds them. */
  docker: Record<Family, Ruleset>;
  /** Run ARGS in the lab host namespace with ENV added. */
  exec(args: string[], env?: Record<string, string>): Promise<RunResult>;
  /** The published port answers, Docker's rules are all there; the user's rules in force (how CLOSED is turned away) or none. */
  expect(when: string, user: { rejects: RegExp; v6?: boolean } | 'none'): Promise<void>;
}

async function oneEngine(t: TestContext, engine: Engine): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'isr-lab-svc-'));
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
    for (const port of [SSH, CLOSED, BY_HAND]) listeners.push(listen(lab, port, join(dir, 'www')));
    await assertAnswers(lab, hostUrl(lab, Number(env.PORT)), 'before');
    for (const port of [SSH, CLOSED, BY_HAND]) await assertAnswers(lab, hostUrl(lab, port), `before: the listener on ${port}`);
    const docker = { ipv4: parse(await save(lab, 'ipv4'), 'ipv4', 'docker'), ipv6: parse(await save(lab, 'ipv6'), 'ipv6', 'docker') };

    const host: Host = {
      dir, ctx, paths, docker,
      exec: (args, e = {}) => lab.exec(['env', ...envWords(e), ...args], { timeoutMs: 180_000 }),
      async expect(when, user) {
        await assertAnswers(lab, hostUrl(lab, Number(env.PORT)), `${when}: the published port`);
        for (const family of ['ipv4', 'ipv6'] as const) assertDockerKept(docker[family], parse(await save(lab, family), family, when), `${when} (${family})`);
        if (user === 'none') {
          await assertAnswers(lab, hostUrl(lab, CLOSED), `${when}: no user rules, so ${CLOSED}`);
          return;
        }
        await assertAnswers(lab, hostUrl(lab, SSH), `${when}: ssh, opened by the file`);
        await assertRejected(lab, hostUrl(lab, CLOSED), user.rejects, `${when}: ${CLOSED}, not opened by the file`);
        if (user.v6) {
          await assertAnswers(lab, hostUrl(lab, SSH, true), `${when}: ssh over IPv6`);
          await assertRejected(lab, hostUrl(lab, CLOSED, true), user.rejects, `${when}: ${CLOSED} over IPv6`);
        }
      },
    };
    await t.test('RHEL: iptables-service stop, start, reload, save, stop with IPTABLES_SAVE_ON_STOP=yes, start', (t) => rhelFlow(t, host));
    await t.test('Debian: the real netfilter-persistent start, save, flush, start, reload, and start with --test and --noflush', (t) => debianFlow(t, host));
    await t.test('cron: reconcile right after Docker adds a container prints nothing and changes nothing', (t) => cronFlow(t, host));
  } finally {
    for (const l of listeners) l.kill('SIGKILL');
    await Promise.all(listeners);
    down = await lab.down();
    rmSync(dir, { recursive: true, force: true });
    t.diagnostic(`${engine}: ${((Date.now() - started) / 1000).toFixed(1)} s including up and down`);
  }
  assert.equal(down.exitCode, 0, `docker-lab down ${lab.instance}: ${down.stderr}`);
}

const DOCKER_WORDS = (lab: Lab) => new RegExp(`DOCKER|docker0|DNAT|MASQUERADE|172\\.17\\.|${(lab.env.CONTAINER_IP ?? '').replace(/\./g, '\\.')}`);

/** The `-A` lines of TABLE in a restore-format text. */
function appendLines(text: string, table = 'filter'): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) current = line.slice(1);
    else if (current === table && line.startsWith('-A ')) out.push(line);
  }
  return out;
}

/** FILE holds nothing of Docker's, and `plan` of it against the live rules finds nothing to change. */
async function assertSavedClean(h: Host, family: Family, file: string, when: string): Promise<string> {
  const text = readFileSync(file, 'utf8');
  assert.doesNotMatch(text, DOCKER_WORDS(h.ctx.lab), `${when}: ${file} has nothing of Docker's:\n${text}`);
  assert.equal(statSync(file).mode & 0o777, 0o600, `${when}: ${file} is 0600`);
  const p = await plan(h.ctx, family, file);
  assert.equal(p.exitCode, 0, `${when}: plan ${file} finds nothing to change: ${said(p)}`);
  return text;
}

const ok = (r: RunResult, what: string) => assert.equal(r.exitCode, 0, `${what}: ${said(r)}`);

const RHEL_CONFIG = (saveOnStop: 'yes' | 'no') => `# iptables-config as iptables-services 1.8 ships it (RHEL 8/9)
IPTABLES_MODULES=""
IPTABLES_MODULES_UNLOAD="no"
IPTABLES_SAVE_ON_STOP="${saveOnStop}"
IPTABLES_SAVE_ON_RESTART="no"
IPTABLES_SAVE_COUNTER="no"
IPTABLES_STATUS_NUMERIC="yes"
IPTABLES_STATUS_VERBOSE="no"
IPTABLES_STATUS_LINENUMBERS="yes"
#IPTABLES_SYSCTL_LOAD_LIST=".nf_conntrack .bridge-nf"
IPTABLES_RESTORE_WAIT=600
IPTABLES_RESTORE_WAIT_INTERVAL=1000000
`;

async function rhelFlow(_t: TestContext, h: Host): Promise<void> {
  const lab = h.ctx.lab;
  const rules = join(h.dir, 'sysconfig-iptables');
  const stale = join(repoRoot, 'packaging', 'examples', 'rhel-saved-on-docker-host.rules');
  copyFileSync(stale, rules);
  const config = join(h.dir, 'iptables-config');
  writeFileSync(config, RHEL_CONFIG('no'));
  const env = { ...h.paths, IPTABLES_CONFIG: config, RULES_FILE: rules, FALLBACK_FILE: `${rules}.fallback` };
  // the drop-in's ExecStart/ExecReload/ExecStop
  const service = (verb: string) => h.exec([join(h.paths.ISR_LIBEXEC_DIR, 'iptables-service'), verb, 'ipv4'], env);
  const hostProhibited = /No route to host|Host is unreachable/;

  // 1. systemctl restart iptables: ExecStop, then ExecStart
  ok(await service('stop'), 'stop');
  await h.expect('RHEL stop', 'none');
  const start = await service('start');
  ok(start, 'start');
  assert.match(start.stdout, /applying firewall rules from .*sysconfig-iptables \(Docker-safe\)/);
  await h.expect('RHEL start', { rejects: hostProhibited });
  const live = await save(lab, 'ipv4');
  assert.doesNotMatch(live, /172\.17\.0\.77|8090/, "RHEL start: the file's stale Docker rules are not loaded");
  assert.deepEqual(appendLines(live).filter((l) => l.startsWith('-A INPUT ')), appendLines(readFileSync(fixture('rhel-iptables-services.rules'), 'utf8')).filter((l) => l.startsWith('-A INPUT ')));

  // 2. systemctl reload iptables: nothing changes
  ok(await service('reload'), 'reload');
  await h.expect('RHEL reload', { rejects: hostProhibited });
  assert.equal(await save(lab, 'ipv4'), live, 'reload of the same file changed nothing');

  // 3. service iptables save: the save action legacy-actions puts in place of the stock one
  const actions = join(h.dir, 'legacy-actions');
  mkdirSync(join(actions, 'iptables'), { recursive: true });
  writeFileSync(join(actions, 'iptables', 'save'), '#!/bin/sh\nexec /usr/libexec/iptables/iptables.init save\n', { mode: 0o755 });
  const legacy = { LEGACY_ACTIONS_DIR: actions, ISR_STOCK_DIR: join(h.dir, 'stock'), ISR_LIBEXEC_DIR: h.paths.ISR_LIBEXEC_DIR };
  ok(await h.exec([join(h.paths.ISR_LIBEXEC_DIR, 'legacy-actions'), 'install'], legacy), 'legacy-actions install');
  ok(await h.exec([join(actions, 'iptables', 'save')], env), 'service iptables save');
  const saved = await assertSavedClean(h, 'ipv4', rules, 'service iptables save');
  assert.deepEqual(appendLines(saved), appendLines(readFileSync(fixture('rhel-iptables-services.rules'), 'utf8')), 'the saved file holds the stock RHEL rules, nothing else');
  assert.equal(readFileSync(`${rules}.save`, 'utf8'), readFileSync(stale, 'utf8'), 'the previous file is kept as .save');
  await h.expect('RHEL save', { rejects: hostProhibited });

  // 4. an admin opens a port by hand; stop saves it first (IPTABLES_SAVE_ON_STOP=yes); start brings it back
  const byHand = ['-I', 'INPUT', '4', '-p', 'tcp', '-m', 'state', '--state', 'NEW', '-m', 'tcp', '--dport', String(BY_HAND), '-j', 'ACCEPT'];
  ok(await lab.exec(['iptables', ...byHand]), 'iptables -I INPUT (by hand)');
  await assertAnswers(lab, hostUrl(lab, BY_HAND), 'opened by hand');
  writeFileSync(config, RHEL_CONFIG('yes'));
  const stop = await service('stop');
  ok(stop, 'stop with IPTABLES_SAVE_ON_STOP=yes');
  assert.match(stop.stdout, /saving firewall rules to/);
  await h.expect('RHEL stop with IPTABLES_SAVE_ON_STOP=yes', 'none');
  const text = readFileSync(rules, 'utf8');
  assert.doesNotMatch(text, DOCKER_WORDS(lab), `saved on stop: nothing of Docker's:\n${text}`);
  assert.match(text, new RegExp(`^-A INPUT -p tcp -m state --state NEW -m tcp --dport ${BY_HAND} -j ACCEPT$`, 'm'), 'saved on stop: the rule added by hand');
  ok(await service('start'), 'start after the save on stop');
  await h.expect('RHEL start of the file saved on stop', { rejects: hostProhibited });
  await assertAnswers(lab, hostUrl(lab, BY_HAND), 'the rule added by hand, saved and restored');
  await assertSavedClean(h, 'ipv4', rules, 'the file saved on stop');
}

const NFP_DEFAULTS = (extra = '') => `# /etc/default/netfilter-persistent as netfilter-persistent 1.0.20 ships it
FLUSH_ON_STOP=0
IPTABLES_TEST_RULESET=yes
IP6TABLES_TEST_RULESET=yes
${extra}`;

async function debianFlow(t: TestContext, h: Host): Promise<void> {
  const lab = h.ctx.lab;
  // (not the stock plugin's presence: the .deb install test may have it diverted away at this moment)
  if (!existsSync(NETFILTER_PERSISTENT) || !existsSync(PLUGINS_DIR) || !existsSync('/etc/iptables')) {
    skipOrFail(t, 'Debian\'s netfilter-persistent is not installed (apt-get install iptables-persistent; .ci/run does)');
    return;
  }
  const hostEtc = readdirSync('/etc/iptables').sort();
  // the temp files bind-mounted over Debian's paths
  const etc = join(h.dir, 'etc-iptables');
  mkdirSync(etc);
  const rules = { ipv4: join(etc, 'rules.v4'), ipv6: join(etc, 'rules.v6') };
  const stale = { ipv4: fixture('debian-saved-on-docker-host.v4.rules'), ipv6: fixture('debian-saved-on-docker-host.v6.rules') };
  copyFileSync(stale.ipv4, rules.ipv4);
  copyFileSync(stale.ipv6, rules.ipv6);
  const plugins = join(h.dir, 'plugins.d');
  mkdirSync(plugins);
  for (const p of ['15-ip4tables-safe', '25-ip6tables-safe']) {
    // as the .deb installs them, with our libexec in place of /usr/libexec/iptables-safe-restore
    const text = readFileSync(join(repoRoot, 'packaging', 'debian', p), 'utf8');
    const ours = text.replaceAll('/usr/libexec/iptables-safe-restore/', `${h.paths.ISR_LIBEXEC_DIR}/`);
    assert.notEqual(ours, text, `${p} runs /usr/libexec/iptables-safe-restore/…`);
    writeFileSync(join(plugins, p), ours, { mode: 0o755 });
  }
  const defaults = join(h.dir, 'netfilter-persistent');
  writeFileSync(defaults, NFP_DEFAULTS());

  const ns = await MountNamespace.open(lab);
  try {
    await ns.bind(plugins, PLUGINS_DIR);
    await ns.bind(etc, '/etc/iptables');
    await ns.bind(defaults, '/etc/default/netfilter-persistent');
    const listed = await ns.run(['run-parts', '--list', PLUGINS_DIR]);
    assert.deepEqual(listed.stdout.trim().split('\n'), [join(PLUGINS_DIR, '15-ip4tables-safe'), join(PLUGINS_DIR, '25-ip6tables-safe')], 'only our plugins run');
    const nfp = async (verb: string) => {
      const r = await ns.run([NETFILTER_PERSISTENT, verb], h.paths);
      ok(r, `netfilter-persistent ${verb}`);
      assert.doesNotMatch(r.stdout + r.stderr, /Error|failed|NOT loaded|Warning/, `netfilter-persistent ${verb}: ${said(r)}`);
      return r;
    };
    const refused = { rejects: /Connection refused/, v6: true };
    const dumps = async () => ({ ipv4: await save(lab, 'ipv4'), ipv6: await save(lab, 'ipv6') });
    const savedClean = async (when: string) => {
      for (const family of ['ipv4', 'ipv6'] as const) await assertSavedClean(h, family, rules[family], `${when} (${family})`);
    };

    // start: the stale file, tested first (IPTABLES_TEST_RULESET=yes, as shipped)
    t.diagnostic(`netfilter-persistent start: ${said(await nfp('start')).replace(/\n/g, ' | ')}`);
    await h.expect('netfilter-persistent start', refused);
    const loaded = await dumps();
    assert.doesNotMatch(loaded.ipv4, /172\.17\.0\.99|8091/, "start: the file's stale Docker rules are not loaded");
    assert.match(loaded.ipv4, /^-A admin-ssh -s 192\.0\.2\.0\/24 -j ACCEPT$/m);

    // save: Docker-free files, the user's rules exactly, the old file kept
    await nfp('save');
    await savedClean('netfilter-persistent save');
    for (const family of ['ipv4', 'ipv6'] as const) {
      const want = appendLines(readFileSync(stale[family], 'utf8')).filter((l) => !/DOCKER|docker0/.test(l));
      assert.deepEqual(appendLines(readFileSync(rules[family], 'utf8')), want, `save (${family}): the user's filter rules, nothing else`);
      assert.equal(readFileSync(`${rules[family]}.save`, 'utf8'), readFileSync(stale[family], 'utf8'), `save (${family}): the old file kept`);
    }
    const savedText = { ipv4: readFileSync(rules.ipv4, 'utf8'), ipv6: readFileSync(rules.ipv6, 'utf8') };
    await h.expect('netfilter-persistent save', refused);

    // flush: the user's rules and chains gone, every built-in policy ACCEPT, Docker's kept
    await nfp('flush');
    await h.expect('netfilter-persistent flush', 'none');
    const flushed = await dumps();
    assert.doesNotMatch(flushed.ipv4, /admin-ssh|REJECT/, 'flush: no user rule or chain left (IPv4)');
    assert.doesNotMatch(flushed.ipv6, /REJECT|dport 22/, 'flush: no user rule left (IPv6)');
    assert.doesNotMatch(flushed.ipv4 + flushed.ipv6, /^:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) (DROP|REJECT)/m, 'flush: every built-in policy ACCEPT');

    // start again: back as loaded; reload: nothing changes
    await nfp('start');
    await h.expect('netfilter-persistent start after flush', refused);
    assert.deepEqual(await dumps(), loaded, 'start after flush: the same firewall as the first start');
    await nfp('reload');
    await h.expect('netfilter-persistent reload', refused);
    assert.deepEqual(await dumps(), loaded, 'reload: nothing changed');

    // flush, then start with --test and --noflush (the saved files: the user's rules, added to Docker's)
    await nfp('flush');
    writeFileSync(defaults, NFP_DEFAULTS('IPTABLES_RESTORE_NOFLUSH=yes\nIP6TABLES_RESTORE_NOFLUSH=yes\n'));
    await nfp('start');
    await h.expect('netfilter-persistent start with IPTABLES_TEST_RULESET=yes IPTABLES_RESTORE_NOFLUSH=yes', refused);
    assert.deepEqual(await dumps(), loaded, 'start --noflush after flush: the same firewall as the first start');

    // no step but save wrote the rules files
    for (const family of ['ipv4', 'ipv6'] as const) assert.equal(readFileSync(rules[family], 'utf8'), savedText[family], `${family}: rules file as saved`);
    await savedClean('at the end');
  } finally {
    await ns.close();
  }
  assert.deepEqual(readdirSync('/etc/iptables').sort(), hostEtc, "the host's own /etc/iptables is untouched");
}

async function cronFlow(_t: TestContext, h: Host): Promise<void> {
  const lab = h.ctx.lab;
  // The files the timer reconciles with: as saved by the Debian flow when it ran, else saved here.
  const etc = join(h.dir, 'etc-iptables');
  const rules = { ipv4: join(etc, 'rules.v4'), ipv6: join(etc, 'rules.v6') };
  if (!existsSync(rules.ipv4)) {
    mkdirSync(etc, { recursive: true });
    for (const family of ['ipv4', 'ipv6'] as const) {
      const bin = join(h.paths.ISR_BIN_DIR, family === 'ipv4' ? 'iptables-safe-restore' : 'ip6tables-safe-restore');
      ok(await h.exec([bin, 'save', '--out', rules[family]]), `save ${family}`);
    }
  }
  const defaults = join(h.dir, 'iptables-safe-restore.defaults');
  writeFileSync(defaults, `RULES_V4=${rules.ipv4}\nRULES_V6=${rules.ipv6}\n`);
  // as the timer's service runs it (ExecStart=/usr/libexec/iptables-safe-restore/reconcile)
  const reconcile = () => h.exec([join(h.paths.ISR_LIBEXEC_DIR, 'reconcile')], { ...h.paths, ISR_DEFAULTS: defaults });
  const quiet = (r: RunResult, when: string) => assert.ok(r.exitCode === 0 && r.stdout === '' && r.stderr === '', `${when}: exit 0, nothing printed: ${said(r)}`);

  quiet(await reconcile(), 'reconcile when in sync');
  const run = await lab.docker(['run', '-d', '--name', 'svc-extra', '-p', `${EXTRA}:80`, 'isr-lab/web:latest']);
  assert.equal(run.exitCode, 0, `docker run: ${run.stderr}`);
  const before = { ipv4: await save(lab, 'ipv4'), ipv6: await save(lab, 'ipv6') };
  assert.match(before.ipv4, new RegExp(`--dport ${EXTRA} -j DNAT`), "Docker's rules for the new container are live");
  quiet(await reconcile(), 'reconcile right after docker run');
  assert.deepEqual({ ipv4: await save(lab, 'ipv4'), ipv6: await save(lab, 'ipv6') }, before, 'reconcile changed nothing');
  await assertAnswers(lab, hostUrl(lab, EXTRA), 'the new container after reconcile');
  await assertAnswers(lab, hostUrl(lab, Number(lab.env.PORT)), 'the first container after reconcile');
}
