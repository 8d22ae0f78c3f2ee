// apply --confirm without a kernel: durations, the command line (a bare --confirm never takes
// the file as its value), `confirm` and `confirm --status` exit codes, and the warnings every
// command gives about a pending change whose watchdog is gone. The watchdog itself and the
// rollbacks are tested against real iptables in test/integration/confirm-netns.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { confirmWindow } from '../../src/apply/confirm.js';
import { isWatchdog, writePending, type PendingConfirmation } from '../../src/io/pending.js';
import { appendJournal, type JournalEntry } from '../../src/io/journal.js';
import { repoRoot } from '../helpers/fixtures.js';

const bin = join(repoRoot, 'bin', 'iptables-safe-restore');
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const live = join(repoRoot, 'packaging', 'examples', 'live-docker-host.rules');
const example = join(repoRoot, 'packaging', 'examples', 'rhel-iptables-services.rules');

function tempState(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'isr-confirm-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'state');
}

function pending(over: Partial<PendingConfirmation> = {}): PendingConfirmation {
  const now = Date.now();
  return {
    token: 'feedface', snapshot: '20260101T000000Z-1', appliedAt: new Date(now).toISOString(), deadline: new Date(now + 60_000).toISOString(), seconds: 60,
    families: ['ipv4'], user: 'alice', command: 'apply rules.v4 --confirm', pid: 999_999, watchdogPid: 999_998, rollback: { lockFile: '/nonexistent/lock', keep: 20 },
    ...over,
  };
}

const entry = (result: JournalEntry['result']): JournalEntry => ({ time: new Date().toISOString(), id: 'x', result, user: 'u', pid: 1, command: 'c', families: ['ipv4'], summary: `${result} summary` });

test('durations: seconds, units and their sums; out of range and garbage are user errors', () => {
  assert.equal(parseDuration('90', 'x', 0, 1e9), 90_000);
  assert.equal(parseDuration('90s', 'x', 0, 1e9), 90_000);
  assert.equal(parseDuration('1m30s', 'x', 0, 1e9), 90_000);
  assert.equal(parseDuration('1h', 'x', 0, 1e9), 3_600_000);
  assert.equal(parseDuration('1.5s', 'x', 0, 1e9), 1500);
  assert.equal(parseDuration('250ms', 'x', 0, 1e9), 250);
  assert.throws(() => parseDuration('5 minutes', '--confirm', 0, 1e9), /--confirm: '5 minutes' is not a duration/);
  assert.throws(() => parseDuration('-5s', '--confirm', 0, 1e9), /not a duration/);
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(200), '1s');
  assert.equal(formatDuration(-5), '0s');
});

test('--confirm: bare means 60 s; from 1 s to 24 h', () => {
  assert.equal(confirmWindow(''), 60_000);
  assert.equal(confirmWindow('5s'), 5000);
  assert.throws(() => confirmWindow('0.5s'), /out of range \(1s to 24h\)/);
  assert.throws(() => confirmWindow('25h'), /out of range/);
});

test('a bare --confirm does not take the next word as its value; a bad one is exit 1 before anything', (t) => {
  const state = tempState(t);
  // never the host's firewall: every kernel access would go to a namespace that does not exist
  const common = ['--netns', '/run/netns/isr-nonexistent-unit', '--state-dir', state, '--lock-file', join(state, '..', 'lock'), '--docker-socket', '/nonexistent/sock'];
  const bare = run(['rollback', '--confirm', '20260101T000000Z-1', ...common]);
  assert.equal(bare.status, 1);
  assert.match(bare.stderr, /no snapshot '20260101T000000Z-1' in /, 'the snapshot id was taken as the snapshot');
  const bad = run(['apply', example, '--confirm=soon', ...common]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, "iptables-safe-restore: --confirm: 'soon' is not a duration (say 90, 90s, 5m, 1h or 1m30s)\n");
  const fromFile = run(['apply', example, '--live-from', live, ...common]);
  assert.equal(fromFile.status, 1);
  assert.match(fromFile.stderr, /apply needs the live ruleset from the kernel \(not --live-from\)/);
});

test('confirm with nothing pending: exit 9; after a rollback for want of confirmation: exit 10 (too late)', (t) => {
  const state = tempState(t);
  const none = run(['confirm', '--state-dir', state]);
  assert.equal(none.status, 9);
  assert.match(none.stderr, /nothing is awaiting confirmation/);
  assert.equal(run(['confirm', '--status', '--state-dir', state]).status, 0);
  appendJournal(state, entry('not-confirmed'));
  const late = run(['confirm', '--state-dir', state]);
  assert.equal(late.status, 10);
  assert.match(late.stderr, /too late: not-confirmed summary/);
  appendJournal(state, entry('applied'));
  assert.equal(run(['confirm', '--state-dir', state]).status, 9, 'a later apply: nothing pending, not too late');
  assert.equal(run(['confirm', '--status', '--reject', '--state-dir', state]).status, 1, '--status and --reject conflict');
});

test('a pending change whose watchdog is gone: status says so (exit 8), read-only commands warn', (t) => {
  const state = tempState(t);
  writePending(state, pending());
  const st = run(['confirm', '--status', '--json', '--state-dir', state]);
  assert.equal(st.status, 8);
  const j = JSON.parse(st.stdout);
  assert.equal(j.pending.watchdogAlive, false);
  assert.ok(j.pending.secondsLeft > 50 && j.pending.secondsLeft <= 60);
  const text = run(['confirm', '--status', '--state-dir', state]);
  assert.match(text.stdout, /watchdog +pid 999998, NOT RUNNING/);
  assert.match(text.stdout, /keep it +iptables-safe-restore confirm --state-dir /);
  const plan = run(['plan', example, '--live-from', live, '--canonical', 'lexical', '--state-dir', state, '--docker-socket', '/nonexistent/sock', '-q']);
  assert.match(plan.stderr, /warning: the change applied \S+ awaits confirmation \(deadline \S+\) but its watchdog is gone; run 'iptables-safe-restore recover' to roll it back to snapshot 20260101T000000Z-1/);
  assert.match(run(['history', '--state-dir', state]).stderr, /its watchdog is gone/);
});

test('a watchdog is known by its command line, never by its pid alone', () => {
  assert.equal(isWatchdog(process.pid, 'feedface'), false, 'a live pid that is not a watchdog');
  assert.equal(isWatchdog(undefined, 'feedface'), false);
  assert.equal(isWatchdog(2 ** 22 + 1, 'feedface'), false, 'no such pid');
});

test('--help lists confirm and hides the watchdog; the watchdog word reaches the command table', () => {
  const h = run(['--help']);
  assert.match(h.stdout, /COMMAND \[options\] +\(.*\bconfirm\b.*;/);
  assert.doesNotMatch(h.stdout, /__watchdog/);
  const c = run(['confirm', '--help']);
  assert.match(c.stdout, /keep the change awaiting confirmation/);
  // not taken by the twin as a FILE named __watchdog: yargs asks for its required options
  const w = run(['__watchdog']);
  assert.equal(w.status, 1);
  assert.match(w.stderr, /Missing required argument/);
});
