// The packages' whole life in a throwaway root (test/helpers/overlay-root.ts: this machine's /
// under an overlay, in a private mount namespace, chroot): the .deb installed over the previous
// build (the packaging as it was before issue 19, built from git: ISR_PKG_PREVIOUS_REF), then
// upgraded, removed and purged with the real dpkg and maintainer scripts — diversions moved and
// put back, the units enabled and masked by deb-systemd-helper, conffiles kept on remove and
// gone on purge, the state directory gone on purge, and nothing left behind but dpkg's own
// records; the .rpm installed, upgraded and erased with the real rpm, its scriptlets run by
// /bin/sh in the same kind of root (systemctl offline: the preset enables recover), the state
// directory kept on erase with a note. As root only (mounts); the host is not changed.
import { test, before, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';
import { requireRoot, skipOrFail } from '../helpers/root.js';
import { OverlayRoot, type RootResult } from '../helpers/overlay-root.js';

const PREVIOUS = process.env.ISR_PKG_PREVIOUS_REF ?? '2f0f614';
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const out = mkdtempSync(join(tmpdir(), 'isr-pkg-life-'));
after(() => rmSync(out, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
const have = (cmd: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd]).status === 0;

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): RootResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Builds with SCRIPT of the tree at TREE into DIR; returns the package's path. */
function buildWith(tree: string, script: string, dir: string, env: NodeJS.ProcessEnv = {}): string {
  mkdirSync(dir, { recursive: true });
  const r = sh(join(tree, 'packaging', script), [dir], env);
  assert.equal(r.status, 0, `${script} of ${tree}: ${r.stderr}`);
  return r.stdout.trim().split('\n').pop() ?? '';
}

/** The packaging tree as it was at PREVIOUS (git archive), with this checkout's node_modules. */
let previousTree = '';
before(() => {
  if (!isRoot) return;
  previousTree = join(out, 'previous');
  mkdirSync(previousTree);
  const r = spawnSync('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', repoRoot, PREVIOUS, previousTree], { encoding: 'utf8' });
  assert.equal(r.status, 0, `git archive ${PREVIOUS}: ${r.stderr}`);
  symlinkSync(join(repoRoot, 'node_modules'), join(previousTree, 'node_modules'));
});

const ok = (r: RootResult, what: string) => assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stdout}${r.stderr}`);
const PLUGINS = '/usr/share/netfilter-persistent/plugins.d';

test('the .deb: install over the previous build, upgrade, remove, purge in a throwaway root', { timeout: 600_000 }, async (t: TestContext) => {
  if (!requireRoot(t)) return;
  if (!existsSync(join(PLUGINS, '15-ip4tables'))) {
    skipOrFail(t, "Debian's iptables-persistent is not installed here (its plugins are what the package diverts; .ci/run installs it)");
    return;
  }
  const oldDeb = buildWith(previousTree, 'build-deb', join(out, 'deb-old'));
  const newDeb = buildWith(repoRoot, 'build-deb', join(out, 'deb-new'));
  const stock = readFileSync(join(PLUGINS, '15-ip4tables'), 'utf8');
  const root = new OverlayRoot('pkg-deb');
  try {
    mkdirSync(root.upper('/tmp/pkgs'), { recursive: true });
    copyFileSync(oldDeb, root.upper('/tmp/pkgs/old.deb'));
    copyFileSync(newDeb, root.upper('/tmp/pkgs/new.deb'));

    // the previous build: diverted into /usr/share/iptables-safe-restore/diverted/
    ok(root.run('dpkg -i /tmp/pkgs/old.deb'), 'dpkg -i (previous build)');
    assert.match(root.run('dpkg-divert --list iptables-safe-restore').stdout, /to \/usr\/share\/iptables-safe-restore\/diverted\/15-ip4tables by/);
    // what the tool leaves in its state directory
    ok(root.run('mkdir -p -m 0700 /var/lib/iptables-safe-restore/snapshots && echo x >/var/lib/iptables-safe-restore/journal'), 'state');

    // the upgrade: diversions moved to FILE.distrib, units in /usr/lib, recover enabled
    const up = root.run('dpkg -i /tmp/pkgs/new.deb');
    ok(up, 'dpkg -i (upgrade)');
    t.diagnostic(`upgrade: ${(up.stdout + up.stderr).trim().replace(/\n/g, ' | ')}`);
    assert.equal(root.run("dpkg-query -W -f '${Version} ${Status}' iptables-safe-restore").stdout, `${version}-1 install ok installed`);
    const diversions = root.run('dpkg-divert --list iptables-safe-restore').stdout;
    for (const p of ['15-ip4tables', '25-ip6tables']) assert.match(diversions, new RegExp(`diversion of ${PLUGINS}/${p} to ${PLUGINS}/${p}\\.distrib by iptables-safe-restore`));
    assert.equal(readFileSync(root.upper(`${PLUGINS}/15-ip4tables.distrib`), 'utf8'), stock, 'the stock plugin, renamed');
    assert.equal(root.run(`test ! -e ${PLUGINS}/15-ip4tables && test ! -e /usr/share/iptables-safe-restore`).status, 0, 'nothing left at the old places');
    assert.deepEqual(root.run(`run-parts --list ${PLUGINS}`).stdout.trim().split('\n'), [`${PLUGINS}/15-ip4tables-safe`, `${PLUGINS}/25-ip6tables-safe`], 'only our plugins run');
    // enabled by the previous build (its /lib path, the same file on merged-/usr) and still enabled
    assert.match(readlinkSync(root.upper('/etc/systemd/system/multi-user.target.wants/iptables-safe-restore-recover.service')), /^(\/usr)?\/lib\/systemd\/system\/iptables-safe-restore-recover\.service$/);
    assert.equal(existsSync(root.upper('/etc/systemd/system/timers.target.wants/iptables-safe-restore-reconcile.timer')), false, 'the timer is not enabled');
    const run = root.run('/usr/sbin/iptables-safe-restore --version && /usr/sbin/iptables-safe-restore check /usr/share/doc/iptables-safe-restore/examples/rhel-iptables-services.rules');
    ok(run, 'the installed tool');
    assert.match(run.stdout, new RegExp(`^${version}\\n.*valid IPv4 ruleset`));

    // remove: the stock plugins back, conffiles and state kept, the enabled unit masked
    ok(root.run('echo "# changed by the admin" >>/etc/iptables-safe-restore.conf && dpkg -r iptables-safe-restore'), 'dpkg -r');
    assert.equal(root.run('dpkg-divert --list iptables-safe-restore').stdout, '');
    assert.equal(root.run(`cat ${PLUGINS}/15-ip4tables`).stdout, stock, 'the stock plugin is back');
    assert.equal(root.run('test -e /usr/sbin/iptables-safe-restore').status, 1);
    assert.equal(root.run('test -f /etc/iptables-safe-restore.conf && test -f /var/lib/iptables-safe-restore/journal').status, 0, 'remove keeps conffiles and state');
    assert.equal(readlinkSync(root.upper('/etc/systemd/system/iptables-safe-restore-recover.service')), '/dev/null', 'masked while only conffiles remain');

    // purge: conffiles, state directory, masks and dpkg's records of them all gone
    ok(root.run('dpkg --purge iptables-safe-restore'), 'dpkg --purge');
    assert.equal(root.run('test -e /etc/iptables-safe-restore.conf || test -e /etc/cron.d/iptables-safe-restore || test -e /var/lib/iptables-safe-restore').status, 1, 'purge leaves no conffile, no state');
    const left = root.changed().filter((f) => !/^\/(var\/lib\/dpkg|var\/log|var\/cache\/(debconf|man)|tmp\/pkgs)\//.test(f));
    // Documented: deb-systemd-helper keeps no state after purge, dpkg's own records are its business.
    assert.deepEqual(left, [], `files left behind after purge: ${left.join(', ')}`);
  } finally {
    root.cleanup();
  }
});

test('the .rpm: install over the previous build, upgrade, erase in a throwaway root, scriptlets run by /bin/sh', { timeout: 600_000 }, async (t: TestContext) => {
  if (!requireRoot(t)) return;
  if (!have('rpmbuild')) {
    skipOrFail(t, 'rpmbuild is not installed (apt-get install rpm)');
    return;
  }
  const oldRpm = buildWith(previousTree, 'build-rpm', join(out, 'rpm-old'));
  // Release 1.el9 > 1: the upgrade rpm sees (the previous build's release was 1 as well)
  const newRpm = buildWith(repoRoot, 'build-rpm', join(out, 'rpm-new'), { ISR_RPM_DIST: '.el9' });
  const root = new OverlayRoot('pkg-rpm');
  try {
    mkdirSync(root.upper('/tmp/pkgs'), { recursive: true });
    copyFileSync(oldRpm, root.upper('/tmp/pkgs/old.rpm'));
    copyFileSync(newRpm, root.upper('/tmp/pkgs/new.rpm'));
    // Debian's rpm: an empty database; nodejs, iptables and systemd are not RPMs here
    ok(root.run('rpm -i --nodeps /tmp/pkgs/old.rpm'), 'rpm -i (previous build)');
    ok(root.run('mkdir -p -m 0700 /var/lib/iptables-safe-restore/snapshots && echo x >/var/lib/iptables-safe-restore/journal'), 'state');
    const up = root.run('rpm -U --nodeps /tmp/pkgs/new.rpm');
    ok(up, 'rpm -U');
    t.diagnostic(`upgrade: ${(up.stdout + up.stderr).trim().replace(/\n/g, ' | ') || '(silent)'}`);
    assert.equal(root.run("rpm -q --qf '%{VERSION}-%{RELEASE}' iptables-safe-restore").stdout, `${version}-1.el9`);
    const verify = root.run('rpm -V --nodeps iptables-safe-restore');
    assert.equal(verify.stdout + verify.stderr, '', 'rpm -V: every file as packaged');
    // %systemd_post on an upgrade does nothing; a fresh install presets — below
    ok(root.run('rpm -e --nodeps iptables-safe-restore'), 'rpm -e');
    const fresh = root.run('rpm -i --nodeps /tmp/pkgs/new.rpm');
    ok(fresh, 'rpm -i (fresh)');
    // (systemctl names the unit by the first path it finds it at: /lib on merged-/usr Debian 12)
    assert.match(readlinkSync(root.upper('/etc/systemd/system/multi-user.target.wants/iptables-safe-restore-recover.service')), /^(\/usr)?\/lib\/systemd\/system\/iptables-safe-restore-recover\.service$/, 'the preset enabled recover');
    assert.equal(existsSync(root.upper('/etc/systemd/system/timers.target.wants/iptables-safe-restore-reconcile.timer')), false, 'the preset leaves the timer off');
    const run = root.run('/usr/sbin/ip6tables-safe-restore --version');
    assert.equal(run.stdout, `${version}\n`, run.stderr);

    // erase: the admin's changed config kept as .rpmsave, the state directory kept with a note, units disabled
    const erase = root.run('echo "# changed by the admin" >>/etc/iptables-safe-restore.conf && rpm -e --nodeps iptables-safe-restore');
    ok(erase, 'rpm -e');
    assert.match(erase.stdout + erase.stderr, /kept \/var\/lib\/iptables-safe-restore \(snapshots and journal of past applies\); remove it by hand/);
    assert.match(erase.stdout + erase.stderr, /\/etc\/iptables-safe-restore\.conf saved as \/etc\/iptables-safe-restore\.conf\.rpmsave/);
    assert.equal(root.run('test -f /var/lib/iptables-safe-restore/journal').status, 0, 'state kept on erase');
    assert.equal(root.run('test -e /usr/sbin/iptables-safe-restore || test -e /usr/lib/systemd/system/iptables-safe-restore-recover.service').status, 1);
    assert.equal(root.run('test -e /etc/systemd/system/multi-user.target.wants/iptables-safe-restore-recover.service').status, 1, 'disabled on erase');
    // (Debian's rpm keeps its database in ~/.rpmdb)
    const left = root.changed().filter((f) => !/^\/(var\/lib\/rpm|usr\/lib\/sysimage\/rpm|root\/\.rpmdb|var\/log|var\/cache|tmp\/pkgs)\//.test(f));
    assert.deepEqual(left, ['/etc/iptables-safe-restore.conf.rpmsave', '/var/lib/iptables-safe-restore/journal'], 'documented leftovers only');
  } finally {
    root.cleanup();
  }
});
