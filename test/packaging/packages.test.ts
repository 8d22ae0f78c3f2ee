// The .deb and the .rpm (packaging/build-deb, build-rpm): what they hold, their maintainer
// scripts and scriptlets, the man page, and — as root, under CI=true or ISR_TEST_INSTALL=1,
// because it changes the host — the .deb installed with dpkg, run, and removed again.
import { test, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';
import { inCI, requireRoot, skipOrFail } from '../helpers/root.js';

const out = mkdtempSync(join(tmpdir(), 'isr-pkgs-'));
after(() => rmSync(out, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const packaging = join(repoRoot, 'packaging');

function sh(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const have = (cmd: string) => sh('sh', ['-c', 'command -v "$1"', 'sh', cmd]).status === 0;

/** Builds a package once; skips (fails under CI=true) when the build tool is missing. */
const built = new Map<string, string>();
function build(t: TestContext, script: 'build-deb' | 'build-rpm', tool: string): string | undefined {
  if (!have(tool)) {
    skipOrFail(t, `${tool} is not installed (apt-get install ${tool === 'rpmbuild' ? 'rpm' : 'dpkg'})`);
    return undefined;
  }
  if (!built.has(script)) {
    const t0 = Date.now();
    const r = sh(join(packaging, script), [out]);
    assert.equal(r.status, 0, r.stderr);
    t.diagnostic(`${script}: ${Date.now() - t0} ms`);
    built.set(script, r.stdout.trim());
  }
  return built.get(script);
}

const common = [
  '/usr/lib/iptables-safe-restore/iptables-safe-restore.mjs',
  '/usr/lib/iptables-safe-restore/iptables-safe-restore.main.mjs',
  '/usr/sbin/iptables-safe-restore',
  '/usr/sbin/ip6tables-safe-restore',
  '/usr/share/man/man8/iptables-safe-restore.8.gz',
  '/usr/share/man/man8/ip6tables-safe-restore.8.gz',
  '/usr/share/bash-completion/completions/iptables-safe-restore',
  '/usr/share/bash-completion/completions/ip6tables-safe-restore',
  '/usr/libexec/iptables-safe-restore/config.sh',
  '/usr/libexec/iptables-safe-restore/reconcile',
  '/usr/libexec/iptables-safe-restore/fallback.sh',
  '/etc/iptables-safe-restore.conf',
  ...['iptables-safe-restore-reconcile.service', 'iptables-safe-restore-reconcile.timer', 'iptables-safe-restore-recover.service'].map((u) => `/usr/lib/systemd/system/${u}`),
];

test('the .deb: files, dependencies, conffiles, changelog, and maintainer scripts in Debian\'s ways', (t) => {
  const deb = build(t, 'build-deb', 'dpkg-deb');
  if (!deb) return;
  assert.equal(deb, join(out, `iptables-safe-restore_${version}-1_all.deb`));
  const files = sh('dpkg-deb', ['-c', deb]).stdout.split('\n').map((l) => l.replace(/^.*? \.(\/\S*).*$/, '$1').replace(/\/$/, ''));
  for (const f of [
    ...common,
    '/etc/cron.d/iptables-safe-restore',
    '/usr/share/netfilter-persistent/plugins.d/15-ip4tables-safe',
    '/usr/share/netfilter-persistent/plugins.d/25-ip6tables-safe',
    '/usr/libexec/iptables-safe-restore/netfilter-persistent-plugin',
    '/usr/share/doc/iptables-safe-restore/copyright',
    '/usr/share/doc/iptables-safe-restore/changelog.Debian.gz',
    '/usr/share/lintian/overrides/iptables-safe-restore',
    '/usr/lib/systemd/system/netfilter-persistent.service.d/iptables-safe-restore.conf',
  ]) {
    assert.ok(files.includes(f), `${f} missing from the .deb`);
  }
  // On Debian iptables.service is an alias of netfilter-persistent.service: no drop-in for it.
  assert.equal(files.some((f) => f.includes('iptables.service.d')), false);
  assert.equal(files.some((f) => f.startsWith('/lib/')), false, 'units in /usr/lib/systemd/system (trixie)');
  assert.equal(sh('dpkg-deb', ['-f', deb, 'Version']).stdout.trim(), `${version}-1`);
  const changelog = sh('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./usr/share/doc/iptables-safe-restore/changelog.Debian.gz | gzip -d', 'sh', deb]).stdout;
  assert.match(changelog, new RegExp(`^iptables-safe-restore \\(${version.replace(/\./g, '\\.')}-1\\) unstable; urgency=medium$`, 'm'));
  assert.match(sh('dpkg-deb', ['-f', deb, 'Depends']).stdout, /^iptables, nodejs \(>= 20\.19\)$/m);
  const ctl = join(out, 'DEBIAN');
  assert.equal(sh('dpkg-deb', ['-e', deb, ctl]).status, 0);
  // every file under /etc is a conffile
  assert.equal(readFileSync(join(ctl, 'conffiles'), 'utf8'), '/etc/cron.d/iptables-safe-restore\n/etc/iptables-safe-restore.conf\n');
  assert.deepEqual(files.filter((f) => f.startsWith('/etc/') && !['/etc/cron.d'].includes(f)).sort(), ['/etc/cron.d/iptables-safe-restore', '/etc/iptables-safe-restore.conf']);
  assert.ok(existsSync(join(ctl, 'md5sums')));
  const script = (n: string) => readFileSync(join(ctl, n), 'utf8');
  // diversions added in preinst, removed in postrm (literal paths: lintian pairs them)
  for (const p of ['15-ip4tables', '25-ip6tables']) {
    assert.match(script('preinst'), new RegExp(`--divert /usr/share/netfilter-persistent/plugins\\.d/${p}\\.distrib \\\\\\n\\s+--add /usr/share/netfilter-persistent/plugins\\.d/${p} `));
    assert.match(script('postrm'), new RegExp(`--divert /usr/share/netfilter-persistent/plugins\\.d/${p}\\.distrib \\\\\\n\\s+--remove /usr/share/netfilter-persistent/plugins\\.d/${p} `));
  }
  assert.doesNotMatch(script('postinst'), /dpkg-divert/);
  // units through deb-systemd-helper / deb-systemd-invoke, systemctl only for daemon-reload
  assert.match(script('postinst'), /deb-systemd-helper enable 'iptables-safe-restore-recover\.service'/);
  assert.match(script('prerm'), /deb-systemd-invoke stop 'iptables-safe-restore-reconcile\.timer'/);
  for (const n of ['postinst', 'prerm', 'postrm']) {
    for (const m of script(n).matchAll(/^[^#\n]*\bsystemctl\b(.*)$/gm)) assert.match(m[1], /^ --system daemon-reload/, `${n}: ${m[0]}`);
  }
  assert.match(script('postrm'), /if \[ "\$1" = purge \]; then\n(?:.*\n)*?\s+rm -rf "\$\{DPKG_ROOT:-\}\/var\/lib\/iptables-safe-restore"/);
  for (const s of ['preinst', 'postinst', 'prerm', 'postrm']) assert.equal(sh('sh', ['-n', join(ctl, s)]).status, 0, s);
  const nfp = sh('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./usr/lib/systemd/system/netfilter-persistent.service.d/iptables-safe-restore.conf', 'sh', deb]).stdout;
  assert.match(nfp, /^\[Unit\]\nAfter=iptables-safe-restore-recover\.service\nBefore=docker\.service$/m);
});

test('the .rpm: file list, dependencies, conffiles, %changelog, and scriptlets through the systemd macros and a preset; no other package\'s file touched', (t) => {
  const rpm = build(t, 'build-rpm', 'rpmbuild');
  if (!rpm) return;
  assert.equal(rpm, join(out, `iptables-safe-restore-${version}-1.noarch.rpm`), 'Release 1%{?dist} (no dist on Debian\'s rpm)');
  assert.equal(sh('rpm', ['-qp', '--qf', '%{VERSION} %{URL}', rpm]).stdout, `${version} https://example.org/iptables-safe-restore`);
  const files = sh('rpm', ['-qlp', rpm]).stdout.split('\n');
  for (const f of [
    ...common,
    '/usr/lib/systemd/system/iptables.service.d/iptables-safe-restore.conf',
    '/usr/lib/systemd/system/ip6tables.service.d/iptables-safe-restore.conf',
    '/usr/lib/systemd/system-preset/90-iptables-safe-restore.preset',
    '/usr/libexec/iptables-safe-restore/iptables-service',
    '/usr/libexec/iptables-safe-restore/legacy-actions',
    '/usr/share/licenses/iptables-safe-restore/copyright',
  ]) {
    assert.ok(files.includes(f), `${f} missing from the .rpm`);
  }
  assert.equal(files.some((f) => f.includes('netfilter-persistent') || f.includes('cron')), false, 'no Debian plugins, no cron.d (RHEL has systemd) in the RPM');
  // every file under /etc is %config(noreplace)
  const flags = sh('rpm', ['-qp', '--qf', '[%{FILENAMES} %{FILEFLAGS:fflags}\\n]', rpm]).stdout.split('\n').filter((l) => l.startsWith('/etc/'));
  assert.deepEqual(flags, ['/etc/iptables-safe-restore.conf cn']);
  const requires = sh('rpm', ['-qpR', rpm]).stdout;
  assert.match(requires, /^nodejs >= 1:20\.19$/m);
  assert.match(requires, /^\(iptables or iptables-nft or iptables-legacy\)$/m);
  assert.match(sh('rpm', ['-qp', '--changelog', rpm]).stdout, new RegExp(`^\\* .* - ${version.replace(/\./g, '\\.')}-1$`, 'm'));
  const scripts = sh('rpm', ['-qp', '--scripts', rpm]).stdout;
  const section = (name: string) => scripts.split(/\n(?=\S.*scriptlet)/).find((s) => s.startsWith(name)) ?? '';
  // %systemd_post: the preset decides (recover enabled, the timer not); no plain `systemctl enable`
  assert.match(section('postinstall'), /systemctl --no-reload preset iptables-safe-restore-recover\.service iptables-safe-restore-reconcile\.timer/);
  assert.doesNotMatch(scripts, /systemctl enable/);
  assert.match(section('preuninstall'), /systemctl --no-reload disable --now iptables-safe-restore-recover\.service iptables-safe-restore-reconcile\.timer/);
  assert.match(section('postuninstall'), /systemctl try-restart iptables-safe-restore-reconcile\.timer/);
  // iptables-services' files are its own: no install of our save action, no trigger on it
  assert.doesNotMatch(scripts, /legacy-actions install/);
  assert.equal(sh('rpm', ['-qp', '--triggers', rpm]).stdout, '');
  const preset = sh('sh', ['-c', 'rpm2archive - <"$1" | tar -xzOf - ./usr/lib/systemd/system-preset/90-iptables-safe-restore.preset', 'sh', rpm]).stdout;
  assert.deepEqual(preset.split('\n').filter((l) => l && !l.startsWith('#')), ['enable iptables-safe-restore-recover.service', 'disable iptables-safe-restore-reconcile.timer']);
  const dropin = sh('sh', ['-c', 'rpm2archive - <"$1" | tar -xzOf - ./usr/lib/systemd/system/iptables.service.d/iptables-safe-restore.conf', 'sh', rpm]).stdout;
  // the boot firewall before Docker: the fail-closed fallback has nothing of Docker's to flush
  assert.match(dropin, /^\[Unit\]\n(?:.*\n)*Before=docker\.service$/m);
  for (const verb of ['start', 'reload', 'stop']) {
    const key = `Exec${verb[0].toUpperCase()}${verb.slice(1)}`;
    assert.match(dropin, new RegExp(`^${key}=\\n${key}=/usr/libexec/iptables-safe-restore/iptables-service ${verb} ipv4$`, 'm'));
  }
});

test('the man page renders without a warning (groff -ww; mandoc -Tlint when installed)', (t) => {
  if (!have('groff')) {
    skipOrFail(t, 'groff is not installed (apt-get install groff-base)');
    return;
  }
  const page = join(out, 'iptables-safe-restore.8');
  writeFileSync(page, readFileSync(join(packaging, 'man', 'iptables-safe-restore.8'), 'utf8').replace('@VERSION@', version));
  const g = sh('groff', ['-ww', '-man', '-z', page]);
  assert.equal(g.status, 0);
  assert.equal(g.stderr, '');
  if (have('mandoc')) {
    const m = sh('mandoc', ['-Tlint', page]);
    assert.equal(m.stdout + m.stderr, '');
  } else if (inCI()) assert.fail('CI=true: mandoc missing (apt-get install mandoc)');
  const text = sh('groff', ['-man', '-Tutf8', page]).stdout.replace(/.\x08/g, ''); // no overstrike
  for (const section of ['SYNOPSIS', 'TWIN OPTIONS', 'COMMANDS', 'EXIT STATUS', 'FILES', 'EXAMPLES']) assert.match(text, new RegExp(section));
  for (const verb of ['check', 'merge', 'explain', 'plan', 'apply', 'save', 'stop', 'reconcile', 'rollback', 'recover', 'history', 'completion']) {
    assert.match(text, new RegExp(`^ {7}${verb}\\b`, 'm'), `verb ${verb}`);
  }
});

// Installing changes the host: only as root, and only when asked (CI=true or ISR_TEST_INSTALL=1).
test('the .deb installs, runs, completes, has its man page, diverts the stock plugins, and removes cleanly', (t) => {
  if (!inCI() && process.env.ISR_TEST_INSTALL !== '1') {
    t.skip('installs a package on this host: set ISR_TEST_INSTALL=1 (as root) to run it; CI=true always does');
    return;
  }
  if (!requireRoot(t)) return;
  if (sh('dpkg-query', ['-W', '-f', '${Status}', 'iptables-safe-restore']).stdout.includes('installed')) {
    skipOrFail(t, 'iptables-safe-restore is already installed on this host; not touching it');
    return;
  }
  const deb = build(t, 'build-deb', 'dpkg-deb');
  if (!deb) return;

  // The stock plugins: Debian's own iptables-persistent when it is installed (CI installs it for
  // the lab's netfilter-persistent test), else a stand-in package owning them. Either way the
  // diversion is seen to move them and removal to bring them back, with dpkg's real ownership rules.
  const pluginsDir = '/usr/share/netfilter-persistent/plugins.d';
  const stock = join(pluginsDir, '15-ip4tables');
  const real = sh('dpkg-query', ['-W', '-f', '${Status}', 'iptables-persistent']).stdout === 'install ok installed';
  const stockText = real ? readFileSync(stock, 'utf8') : '#!/bin/sh\n# stand-in for the stock plugin (iptables-safe-restore test)\n';
  const fakeDeb = join(out, 'isr-test-stock-plugins.deb');
  if (!real) {
    const fake = join(out, 'fake-stock');
    mkdirSync(join(fake, 'DEBIAN'), { recursive: true });
    mkdirSync(join(fake, pluginsDir), { recursive: true });
    for (const p of ['15-ip4tables', '25-ip6tables']) writeFileSync(join(fake, pluginsDir, p), stockText, { mode: 0o755 });
    writeFileSync(join(fake, 'DEBIAN', 'control'), 'Package: isr-test-stock-plugins\nVersion: 1.0\nArchitecture: all\nMaintainer: test <test@invalid>\nDescription: stand-in for the stock netfilter-persistent plugins\n');
    assert.equal(sh('dpkg-deb', ['--root-owner-group', '--build', fake, fakeDeb]).status, 0);
  }
  t.diagnostic(`stock plugins from ${real ? "Debian's iptables-persistent" : 'a stand-in package'}`);
  try {
    if (!real) {
      const f = sh('dpkg', ['-i', fakeDeb]);
      assert.equal(f.status, 0, f.stdout + f.stderr);
    }
    const i = sh('dpkg', ['-i', deb]);
    assert.equal(i.status, 0, i.stdout + i.stderr);

    const v = sh('/usr/sbin/iptables-safe-restore', ['--version']);
    assert.equal(v.stdout, `${version}\n`, v.stderr);
    const c = sh('/usr/sbin/iptables-safe-restore', ['check', '/usr/share/doc/iptables-safe-restore/examples/rhel-iptables-services.rules']);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /valid IPv4 ruleset/);
    const c6 = sh('/usr/sbin/ip6tables-safe-restore', ['check'], { input: '*filter\n-A INPUT -s fd00::/8 -j ACCEPT\nCOMMIT\n' });
    assert.equal(c6.status, 0, c6.stderr);

    assert.equal(sh('man', ['-w', 'iptables-safe-restore']).stdout.trim(), '/usr/share/man/man8/iptables-safe-restore.8.gz');
    // man-db follows the .so link to the page it names.
    assert.match(sh('man', ['-w', 'ip6tables-safe-restore']).stdout, /^\/usr\/share\/man\/man8\/ip6?tables-safe-restore\.8\.gz$/m);
    const page = sh('man', ['ip6tables-safe-restore'], { env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
    assert.match(page.stdout, /EXIT STATUS/, page.stderr);

    const complete = (words: string) =>
      sh('bash', ['-c', `source "$1"; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _iptables_safe_restore; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', '/usr/share/bash-completion/completions/iptables-safe-restore']).stdout.split('\n');
    assert.ok(complete('iptables-safe-restore pl').includes('plan'));
    assert.ok(complete('iptables-safe-restore plan --state').includes('--state-dir'));

    const diversions = sh('dpkg-divert', ['--list', 'iptables-safe-restore']).stdout;
    assert.match(diversions, /diversion of \/usr\/share\/netfilter-persistent\/plugins\.d\/15-ip4tables to \/usr\/share\/netfilter-persistent\/plugins\.d\/15-ip4tables\.distrib by iptables-safe-restore/);
    assert.match(diversions, /plugins\.d\/25-ip6tables to \/usr\/share\/netfilter-persistent\/plugins\.d\/25-ip6tables\.distrib/);
    assert.equal(existsSync(stock), false, 'the stock plugin still sits in plugins.d');
    assert.equal(readFileSync(`${stock}.distrib`, 'utf8'), stockText);
    // What netfilter-persistent would run (run-parts --list honours the same name rules).
    const plugins = sh('run-parts', ['--list', pluginsDir]).stdout;
    assert.match(plugins, /15-ip4tables-safe/);
    assert.doesNotMatch(plugins, /15-ip4tables\n/);

    const r = sh('dpkg', ['-r', 'iptables-safe-restore']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(sh('dpkg-divert', ['--list', 'iptables-safe-restore']).stdout, '', 'diversions left after removal');
    assert.equal(readFileSync(stock, 'utf8'), stockText, 'the stock plugin is back in place');
    assert.equal(existsSync('/usr/sbin/iptables-safe-restore'), false);
    assert.equal(existsSync('/etc/cron.d/iptables-safe-restore'), true, 'a removed (not purged) package keeps its conffile');
    const p = sh('dpkg', ['--purge', 'iptables-safe-restore']);
    assert.equal(p.status, 0, p.stdout + p.stderr);
    assert.equal(existsSync('/etc/cron.d/iptables-safe-restore'), false);
    assert.equal(existsSync('/usr/share/iptables-safe-restore'), false);
    if (real) return; // Debian's iptables-persistent stays: the lab test needs it
    // The stock package is removed while ours is installed: dpkg removes the diverted file.
    assert.equal(sh('dpkg', ['-i', deb]).status, 0);
    assert.equal(sh('dpkg', ['--purge', 'isr-test-stock-plugins']).status, 0);
    assert.equal(existsSync(`${stock}.distrib`), false);
    const p2 = sh('dpkg', ['--purge', 'iptables-safe-restore']);
    assert.equal(p2.status, 0, p2.stdout + p2.stderr);
    assert.equal(sh('dpkg-divert', ['--list', 'iptables-safe-restore']).stdout, '');
  } finally {
    sh('dpkg', ['--purge', 'iptables-safe-restore']);
    if (!real) sh('dpkg', ['--purge', 'isr-test-stock-plugins']);
  }
});

test('/etc/iptables-safe-restore.conf as shipped changes nothing, and every setting in it, uncommented, is one the program reads', () => {
  const shipped = join(packaging, 'etc', 'iptables-safe-restore.conf');
  const text = readFileSync(shipped, 'utf8');
  assert.deepEqual(text.split('\n').filter((l) => l.trim() && !l.startsWith('#')), [], 'every setting commented out');
  const uncommented = join(out, 'uncommented.conf');
  writeFileSync(uncommented, text.replace(/^#([a-z][a-z0-9-]* = )/gm, '$1'));
  assert.ok(readFileSync(uncommented, 'utf8').split('\n').filter((l) => /^[a-z]/.test(l)).length >= 5, 'the examples became settings');
  const plan = (config: string) =>
    sh(process.execPath, [join(repoRoot, 'bin', 'iptables-safe-restore'), 'plan', '--config', config, '--canonical', 'lexical', '--state-dir', join(out, 'state'),
      '--live-from', join(packaging, 'examples', 'live-docker-host.rules'), join(packaging, 'examples', 'rhel-saved-on-docker-host.rules')]);
  for (const config of [shipped, uncommented]) {
    const r = plan(config);
    assert.equal(r.status, 2, `${config}: plan reads it (2: changes pending): ${r.stderr}`);
  }
  // and a wrong setting is refused, naming the file and line: the check above can fail
  const wrong = join(out, 'wrong.conf');
  writeFileSync(wrong, 'backend = iptables\n');
  const w = plan(wrong);
  assert.equal(w.status, 1);
  assert.match(w.stderr, /wrong\.conf:1: backend must be auto, nft or legacy/);
});
