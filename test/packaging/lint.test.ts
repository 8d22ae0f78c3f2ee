// lintian on the .deb and rpmlint on the .rpm and the spec it was built from: what a
// distribution maintainer runs first. lintian: no error and no warning (pedantic, info and
// experimental tags shown; the overrides in packaging/debian/lintian-overrides each say why);
// rpmlint: no error and no warning with packaging/rpm/rpmlint.toml (its filters say why). Both
// are Debian packages (apt-get install lintian rpmlint; .ci/run installs them).
import { test, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';
import { skipOrFail } from '../helpers/root.js';

const out = mkdtempSync(join(tmpdir(), 'isr-pkg-lint-'));
after(() => rmSync(out, { recursive: true, force: true }));
const packaging = join(repoRoot, 'packaging');
const have = (cmd: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd]).status === 0;

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function build(t: TestContext, script: string, tools: string[]): string | undefined {
  const missing = tools.filter((x) => !have(x));
  if (missing.length) {
    skipOrFail(t, `${missing.join(', ')} not installed (apt-get install ${missing.map((m) => (m === 'rpmbuild' ? 'rpm' : m)).join(' ')})`);
    return undefined;
  }
  const r = run(join(packaging, script), [join(out, script)]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('lintian: the .deb has no error and no warning', (t) => {
  const deb = build(t, 'build-deb', ['dpkg-deb', 'lintian']);
  if (!deb) return;
  const r = run('lintian', ['--tag-display-limit', '0', '--display-info', '--display-experimental', '--pedantic', deb]);
  const tags = (r.stdout + r.stderr).split('\n').filter((l) => /^[A-Z]: /.test(l));
  t.diagnostic(`lintian: ${tags.length} tags (${tags.map((l) => l.split(' ')[2]).join(', ') || 'none'})`);
  assert.deepEqual(tags.filter((l) => /^[EWP]: /.test(l)), [], 'errors, warnings or pedantic tags');
  assert.equal(r.status, 0, r.stderr);
});

test('rpmlint: the .rpm and its spec have no error and no warning', (t) => {
  const rpm = build(t, 'build-rpm', ['rpmbuild', 'rpmlint']);
  if (!rpm) return;
  const r = run('rpmlint', ['-c', join(packaging, 'rpm', 'rpmlint.toml'), rpm, join(out, 'build-rpm', 'iptables-safe-restore.spec')]);
  const summary = /(\d+) packages and (\d+) specfiles checked; (\d+) errors, (\d+) warnings/.exec(r.stdout);
  assert.ok(summary, r.stdout + r.stderr);
  t.diagnostic(`rpmlint: ${summary[0]}`);
  assert.deepEqual([summary[1], summary[2], summary[3], summary[4]], ['1', '1', '0', '0'], r.stdout);
  assert.equal(r.status, 0);
});
