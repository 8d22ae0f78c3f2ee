// Golden tests for plan's text and JSON output (offline: lexical canonical form, a saved
// live ruleset). UPDATE_GOLDEN=1 rewrites test/fixtures/plan/*.golden from the current
// output; review that diff like code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { planCommand } from '../../src/commands/plan.js';
import { EXIT } from '../../src/exit-codes.js';
import { fixture, repoRoot } from '../helpers/fixtures.js';
import { recordOutput } from '../helpers/output.js';
import { userFileFrom } from '../helpers/merge-fixtures.js';

process.chdir(repoRoot);
const rel = (p: string) => relative(repoRoot, p);
const NOW = new Date('2026-12-01T12:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'isr-plan-'));
const stale = join(dir, 'rhel-saved-on-docker-host.rules');
writeFileSync(stale, userFileFrom(readFileSync(fixture('lab', '20.10', 'default-bridge.v4.rules'), 'utf8'), 'ipv4'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function golden(name: string, got: string): void {
  const path = fixture('plan', `${name}.golden`);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, got);
  assert.equal(got, readFileSync(path, 'utf8'));
}

const base = {
  family: 'ipv4' as const, canonical: 'lexical' as const, color: false, now: NOW, stateDir: join(dir, 'state'), dockerSocket: '/nonexistent/docker.sock',
};

test('plan text: RHEL saved on a Docker host, against a live Docker 28 host', async () => {
  const out = recordOutput();
  const code = await planCommand({ ...base, file: stale, liveFrom: rel(fixture('lab', '28', 'default-bridge.v4.rules')), explain: true }, out);
  assert.equal(code, EXIT.CHANGES);
  golden('rhel-vs-28-default-bridge.txt', out.stdout.replaceAll(stale, '<stale file>'));
});

test('plan JSON: the same plan as a versioned object', async () => {
  const out = recordOutput();
  const code = await planCommand({ ...base, file: stale, liveFrom: rel(fixture('lab', '28', 'user-bridge.v4.rules')), json: true }, out);
  assert.equal(code, EXIT.CHANGES);
  const plan = JSON.parse(out.stdout);
  assert.equal(plan.schema, 'iptables-safe-restore/plan');
  assert.equal(plan.schemaVersion, 1);
  assert.equal(plan.changes, true);
  golden('rhel-vs-28-user-bridge.json', out.stdout.replaceAll(stale, '<stale file>'));
});

test('after the target is in place, plan says nothing to do (exit 0)', async () => {
  const first = recordOutput();
  await planCommand({ ...base, file: stale, liveFrom: rel(fixture('lab', '26', 'noproxy.v4.rules')), json: true }, first);
  const applied = join(dir, 'applied.rules');
  writeFileSync(applied, JSON.parse(first.stdout).target);
  const again = recordOutput();
  const code = await planCommand({ ...base, file: stale, liveFrom: applied }, again);
  assert.equal(code, EXIT.OK, again.stdout);
  assert.match(again.stdout, /No changes: the live ruleset already matches the target\.\n$/);
  golden('no-changes.txt', again.stdout.replaceAll(stale, '<stale file>').replaceAll(applied, '<applied>'));
});

test('--context sets the context lines of the diff', async () => {
  const zero = recordOutput();
  await planCommand({ ...base, file: stale, liveFrom: rel(fixture('lab', '28', 'default-bridge.v4.rules')), context: 0 }, zero);
  assert.ok(!/^ -A FORWARD -j DOCKER-FORWARD$/m.test(zero.stdout), 'no context lines with --context 0');
  const three = recordOutput();
  await planCommand({ ...base, file: stale, liveFrom: rel(fixture('lab', '28', 'default-bridge.v4.rules')), context: 3 }, three);
  assert.match(three.stdout, /^ -A FORWARD -j DOCKER-FORWARD$/m);
});
