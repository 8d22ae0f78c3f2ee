// apply --confirm against real iptables in throwaway namespaces, both backends: the watchdog
// rolls an unconfirmed change back at its deadline even when the operator's whole terminal
// session is killed (measured: how long after the deadline), `confirm` from another process
// keeps it, a killed watchdog is noticed by the next command, Docker's rules added during the
// window survive the rollback, a second apply refuses (or --force confirms first), and the
// prompt on a terminal accepts only `yes`.
//
// Every watchdog a test starts is killed by pid in cleanup (found by its command line, which
// names the test's state directory), also on failure; each test asserts none is left.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execa, type ResultPromise } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { BIN4, setup, startDockerWriter, type Env } from '../helpers/netns-env.js';
import { pidAlive } from '../../src/io/pid.js';
import { killWatchdogsOf, watchdogsOf } from '../helpers/watchdogs.js';

interface Pending {
  token: string;
  deadline: string;
  watchdogPid: number;
  pid: number;
  snapshot: string;
}

/** Process group and session of a process (/proc/PID/stat, the fields after the name). */
function groupOf(pid: number): { pgrp: number; session: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [, , pgrp, session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pgrp: Number(pgrp), session: Number(session) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The namespace environment, with every watchdog of its state directory killed on the way out. */
async function confirmEnv(backend: 'nft' | 'legacy', t: TestContext): Promise<Env & { stateDir: string; pending: () => Pending | undefined; noWatchdogLeft: () => Promise<void> }> {
  let stateDir = '';
  t.after(() => {
    if (stateDir) killWatchdogsOf(stateDir);
  });
  const e = await setup(backend, t);
  stateDir = join(e.dir, 'state');
  return {
    ...e,
    stateDir,
    pending: () => {
      try {
        return JSON.parse(readFileSync(join(stateDir, 'confirm-pending.json'), 'utf8')) as Pending;
      } catch {
        return undefined;
      }
    },
    noWatchdogLeft: async () => {
      await until('the watchdogs to exit', 3000, () => watchdogsOf(stateDir).length === 0 || undefined);
    },
  };
}

/** Apply the first file with --confirm=60s, then kill -9 its watchdog; the pending state it leaves. */
async function applyThenKillWatchdog(e: Env & { pending: () => Pending | undefined }): Promise<Pending> {
  const a = await e.cli(['apply', e.files.v4, '--confirm=60s']);
  assert.equal(a.code, 0, a.err);
  const p = e.pending()!;
  process.kill(p.watchdogPid, 'SIGKILL');
  await until('the watchdog to die', 3000, () => !pidAlive(p.watchdogPid) || undefined);
  return p;
}

const journal = async (e: Env) => JSON.parse((await e.cli(['history', '--json'])).out).journal as Array<{ result: string; summary?: string; lagMs?: number }>;

/** The command line the tests give the CLI for a transaction, quoted for `script -c`. */
function shellLine(e: Env, args: string[]): string {
  const all = [process.execPath, BIN4, ...args, '--netns', e.ns.path, '--backend', e.backend, '--state-dir', join(e.dir, 'state'), '--docker-socket', '/nonexistent/sock', '--lock-file', join(e.dir, 'lock')];
  return all.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

/** Run a command in a pseudo-terminal (util-linux script), in a process group of its own. */
function inTerminal(line: string): { proc: ResultPromise; output: () => string } {
  const proc = execa('script', ['-qfec', line, '/dev/null'], { detached: true, reject: false, stdin: 'pipe', env: { SHELL: '/bin/sh' } });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, output: () => out };
}

for (const backend of ['nft', 'legacy'] as const) {
  test(`[${backend}] the terminal session dies: the watchdog rolls back at the deadline; live equals the snapshot`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await confirmEnv(backend, t);
    const before = await e.state();
    const term = inTerminal(shellLine(e, ['apply', e.files.v4, '--confirm=5s']));
    try {
      await until("apply's prompt", 20_000, () => /Type 'yes' within/.test(term.output()) || undefined);
      const p = await until('the pending state', 2000, () => e.pending());
      assert.notEqual(await e.state(), before, 'the change is live');
      assert.match(term.output(), /AWAITING CONFIRMATION: rolled back to snapshot \S+ at \S+ \(in [45]s\) unless confirmed/);
      assert.match(term.output(), new RegExp(`iptables-safe-restore confirm --state-dir ${e.stateDir}`));
      // the whole session goes: SIGHUP to the apply's process group, and the terminal's owner killed
      const applyGroup = groupOf(p.pid);
      assert.notEqual(groupOf(p.watchdogPid).session, applyGroup.session, 'the watchdog is in a session of its own');
      assert.equal(groupOf(p.watchdogPid).session, p.watchdogPid, 'it leads it (setsid)');
      process.kill(-applyGroup.pgrp, 'SIGHUP');
      process.kill(-term.proc.pid!, 'SIGKILL');
      await until('the apply to die', 3000, () => !pidAlive(p.pid) || undefined);
      assert.ok(pidAlive(p.watchdogPid), 'the watchdog survives the session');
      const deadline = Date.parse(p.deadline);
      assert.ok(Date.now() < deadline - 1000, 'still well before the deadline');
      // poll the kernel until it holds the snapshot again
      const restoredAt = await until('the rollback', 15_000, async () => ((await e.state()) === before ? Date.now() : undefined));
      const lag = restoredAt - deadline;
      const j = (await journal(e))[0];
      t.diagnostic(`[${backend}] rollback seen in the kernel ${lag} ms after the deadline (watchdog's own count: ${j.lagMs} ms after)`);
      assert.ok(lag >= 0, `not before the deadline (${lag} ms)`);
      assert.ok(lag < 3000, `rollback ${lag} ms after the deadline`);
      assert.equal(j.result, 'not-confirmed');
      assert.match(j.summary ?? '', /not confirmed by the deadline: rolled back to snapshot/);
      assert.equal(e.pending(), undefined, 'pending state cleared');
      await e.noWatchdogLeft();
      assert.equal((await e.cli(['confirm'])).code, 10, 'confirm after the rollback: too late');
    } finally {
      if (term.proc.pid && pidAlive(term.proc.pid)) process.kill(-term.proc.pid, 'SIGKILL');
      await term.proc;
    }
  });

  test(`[${backend}] confirm from another process: no rollback after the deadline, watchdog gone`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await confirmEnv(backend, t);
    const a = await e.cli(['apply', e.files.v4, '--confirm=3s']);
    assert.equal(a.code, 0, a.err);
    const p = e.pending()!;
    assert.ok(pidAlive(p.watchdogPid));
    const s = await e.cli(['confirm', '--status', '--json']);
    assert.equal(s.code, 8);
    const st = JSON.parse(s.out).pending;
    assert.equal(st.watchdogAlive, true);
    assert.ok(st.secondsLeft > 0 && st.secondsLeft <= 3, `secondsLeft ${st.secondsLeft}`);
    const c = await e.cli(['confirm']);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /^confirmed: the change of \S+ stays/);
    assert.equal(e.pending(), undefined);
    await e.noWatchdogLeft();
    await sleep(Math.max(0, Date.parse(p.deadline) - Date.now()) + 1500);
    assert.equal((await e.cli(['plan', e.files.v4, '-q'])).code, 0, 'the confirmed rules are still live after the deadline');
    assert.equal((await journal(e))[0].result, 'confirmed');
    assert.equal((await e.cli(['confirm'])).code, 9, 'nothing left to confirm');
    assert.equal((await e.cli(['confirm', '--status'])).code, 0);
  });

  test(`[${backend}] the twin with --confirm: not confirmed, its restore is rolled back at the deadline`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await confirmEnv(backend, t);
    const before = await e.state();
    const a = await e.cli([e.files.v4, '--confirm=2s']);
    assert.equal(a.code, 0, a.err);
    assert.match(a.err, /AWAITING CONFIRMATION: .* unless confirmed/, 'the twin is silent, but not about the deadline');
    assert.match(a.err, /iptables-safe-restore confirm --state-dir /);
    const p = e.pending()!;
    assert.notEqual(await e.state(), before, 'the file was restored');
    await sleep(Math.max(0, Date.parse(p.deadline) - Date.now()) + 1500);
    await e.noWatchdogLeft();
    assert.equal(await e.state(), before, 'rolled back to what was live before');
    assert.equal((await journal(e))[0].result, 'not-confirmed');
  });

  test(`[${backend}] kill -9 the watchdog: plan warns, recover rolls back; apply rolls back first, then applies`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await confirmEnv(backend, t);
    const before = await e.state();
    await applyThenKillWatchdog(e);
    const plan = await e.cli(['plan', e.files.v4, '-q']);
    assert.match(plan.err, /warning: the change applied \S+ awaits confirmation .* its watchdog is gone; run 'iptables-safe-restore recover'/);
    const st = await e.cli(['confirm', '--status']);
    assert.equal(st.code, 8);
    assert.match(st.out, /watchdog +pid \d+, NOT RUNNING/);
    const rec = await e.cli(['recover']);
    assert.equal(rec.code, 0, rec.err);
    assert.match(rec.err, /has lost its watchdog .*: rolling it back to snapshot/);
    assert.equal(await e.state(), before, 'recover restored the snapshot');
    assert.equal((await journal(e))[0].result, 'not-confirmed');
    assert.equal(e.pending(), undefined);

    await applyThenKillWatchdog(e);
    const next = await e.cli(['apply', e.files.v4b]);
    assert.equal(next.code, 0, next.err);
    assert.match(next.err, /has lost its watchdog .*: rolling it back to snapshot/);
    assert.deepEqual((await journal(e)).slice(0, 3).map((j) => j.result), ['applied', 'not-confirmed', 'applied']);
    assert.equal((await e.cli(['plan', e.files.v4b, '-q'])).code, 0, 'then the new file was applied');
    assert.equal(e.pending(), undefined);
    await e.noWatchdogLeft();
  });

  test(`[${backend}] reboot: the pending change on disk, its pid now another process: recover rolls back; SIGTERM to a watchdog rolls back at once`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await confirmEnv(backend, t);
    const before = await e.state();
    const p = await applyThenKillWatchdog(e);
    // after a reboot the pid is someone else's: here, ours
    const file = join(e.stateDir, 'confirm-pending.json');
    writeFileSync(file, JSON.stringify({ ...p, watchdogPid: process.pid }));
    const rec = await e.cli(['recover']);
    assert.equal(rec.code, 0, rec.err);
    assert.match(rec.err, /has lost its watchdog/);
    assert.equal(await e.state(), before);

    assert.equal((await e.cli(['apply', e.files.v4, '--confirm=60s'])).code, 0);
    const q = e.pending()!;
    const sent = Date.now();
    process.kill(q.watchdogPid, 'SIGTERM');
    const at = await until('the rollback', 10_000, async () => ((await e.state()) === before ? Date.now() : undefined));
    t.diagnostic(`[${backend}] SIGTERM to the watchdog: rolled back ${at - sent} ms later, ${Date.parse(q.deadline) - at} ms before the deadline`);
    assert.ok(at < Date.parse(q.deadline) - 30_000, 'long before the deadline');
    assert.match((await journal(e))[0].summary ?? '', /terminated before the deadline/);
    await e.noWatchdogLeft();
    // the deadline passes while the watchdog is dead: confirm is too late, and rolls back itself
    const short = await e.cli(['apply', e.files.v4, '--confirm=2s']);
    assert.equal(short.code, 0, short.err);
    const s2 = e.pending()!;
    process.kill(s2.watchdogPid, 'SIGKILL');
    assert.equal(JSON.parse((await e.cli(['history', '--json'])).out).pending.token, s2.token, 'history shows what is pending');
    await sleep(Math.max(0, Date.parse(s2.deadline) - Date.now()) + 200);
    const late = await e.cli(['confirm']);
    assert.equal(late.code, 10, late.err);
    assert.match(late.err, /its watchdog is gone: rolling back to snapshot .* now/);
    assert.equal(await e.state(), before);
    const noop = await e.cli(['apply', e.files.v4, '--confirm=60s']);
    assert.equal(noop.code, 0, 'a real change again');
    assert.equal((await e.cli(['confirm'])).code, 0);
    const same = await e.cli(['apply', e.files.v4, '--confirm']);
    assert.equal(same.code, 3);
    assert.match(same.err, /nothing changed: nothing to confirm/);
    assert.equal(e.pending(), undefined, 'nothing to do: nothing pending');
    await e.noWatchdogLeft();
  });

  test(`[${backend}] Docker adds rules during the window: the rollback keeps them`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await confirmEnv(backend, t);
    const before = await e.state();
    assert.equal((await e.cli(['apply', e.files.v4, '--confirm=3s'])).code, 0);
    const p = e.pending()!;
    const writer = startDockerWriter(e);
    let left: Array<{ table: string; line: string }>;
    try {
      await until('the rollback', 15_000, () => (e.pending() === undefined ? true : undefined));
      await sleep(300); // the writer goes on after the rollback too
    } finally {
      left = await writer.stop();
    }
    assert.ok(Date.now() > Date.parse(p.deadline));
    assert.ok(left.length > 0, 'the writer left rules');
    const live = (await e.state()).split('\n');
    for (const l of left) assert.ok(live.includes(l.line), `the writer's rule is lost: ${l.table} ${l.line}`);
    const leftLines = new Set(left.map((l) => l.line));
    assert.equal(live.filter((l) => !leftLines.has(l)).join('\n'), before, "the rest is the snapshot: the user's part rolled back");
    assert.equal((await journal(e))[0].result, 'not-confirmed');
    await e.noWatchdogLeft();
  });

  test(`[${backend}] a second apply while one is pending refuses (exit 8); --force confirms it, then applies`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await confirmEnv(backend, t);
    assert.equal((await e.cli(['apply', e.files.v4, '--confirm=60s'])).code, 0);
    const first = e.pending()!;
    const refused = await e.cli(['apply', e.files.v4b]);
    assert.equal(refused.code, 8, refused.err);
    assert.match(refused.err, /a change is awaiting confirmation \(applied .*\): it is rolled back at \S+ \(in [\dhms]+\) unless confirmed: run 'iptables-safe-restore confirm --state-dir .*' to keep it.*--force confirms it and goes on/);
    assert.equal((await e.cli(['plan', e.files.v4, '-q'])).code, 0, 'nothing changed');
    assert.equal((await e.cli(['rollback'])).code, 8, 'rollback refuses too');
    const forced = await e.cli(['apply', e.files.v4b, '--force', '--confirm=60s']);
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.err, /confirmed the change awaiting confirmation \(applied .*\) before going on \(--force\)/);
    assert.equal((await e.cli(['plan', e.files.v4b, '-q'])).code, 0, 'the second file is applied');
    const j = await journal(e);
    assert.deepEqual(j.slice(0, 2).map((x) => x.result), ['applied', 'confirmed']);
    assert.match(j[1].summary ?? '', /confirmed by apply --force/);
    await until('the first watchdog to exit', 3000, () => !pidAlive(first.watchdogPid) || undefined);
    const second = e.pending()!;
    assert.notEqual(second.token, first.token, 'the forced apply is itself pending now');
    assert.equal((await e.cli(['confirm', '--reject'])).code, 0);
    assert.equal((await e.cli(['plan', e.files.v4, '-q'])).code, 0, '--reject put back the first file');
    await e.noWatchdogLeft();
  });

  test(`[${backend}] while a change is pending, the twin refuses (1), stop refuses (8), reconcile quietly does nothing (8)`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await confirmEnv(backend, t);
    assert.equal((await e.cli(['apply', e.files.v4, '--confirm=60s'])).code, 0);
    const before = await e.state();
    const twin = await e.cli([e.files.v4b]);
    assert.equal(twin.code, 1, 'the twin answers 1, as iptables-restore does for any failure');
    assert.match(twin.err, /a change is awaiting confirmation/);
    const stop = await e.cli(['stop']);
    assert.equal(stop.code, 8, stop.err);
    const reconcile = await e.cli(['reconcile', e.files.v4b]);
    assert.equal(reconcile.code, 8, reconcile.err);
    assert.equal(reconcile.out + reconcile.err, '', 'reconcile says nothing (cron mails nothing)');
    assert.equal(await e.state(), before, 'nothing changed');
    assert.ok(e.pending(), 'still pending');
    const forced = await e.cli([e.files.v4b, '--force']);
    assert.equal(forced.code, 0, forced.err);
    assert.equal(e.pending(), undefined, '--force confirmed it first');
    assert.equal((await e.cli(['plan', e.files.v4b, '-q'])).code, 0, 'then the twin restored its file');
    await e.noWatchdogLeft();
  });

  test(`[${backend}] on a terminal the prompt accepts only 'yes'; anything else rolls back at once; end of input leaves it to the watchdog`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await confirmEnv(backend, t);
    const before = await e.state();
    for (const [answer, code] of [['yes', 0], ['no', 10], ['\x04', 0]] as const) {
      const term = inTerminal(shellLine(e, ['apply', e.files.v4, '--confirm=30s']));
      try {
        await until("apply's prompt", 20_000, () => /Type 'yes' within/.test(term.output()) || undefined);
        term.proc.stdin!.write(answer === '\x04' ? answer : `${answer}\n`); // ^D: end of input
        const r = await term.proc;
        assert.equal(r.exitCode, code, term.output());
      } finally {
        if (pidAlive(term.proc.pid!)) process.kill(-term.proc.pid!, 'SIGKILL');
      }
      if (answer === 'yes') {
        assert.match(term.output(), /confirmed: the new rules stay/);
        assert.equal((await journal(e))[0].result, 'confirmed');
        assert.equal((await e.cli(['rollback'])).code, 0, 'back to the start for the next answer');
      } else if (answer === 'no') {
        assert.match(term.output(), /'no' is not 'yes': rolling back/);
        assert.equal(await e.state(), before);
      } else {
        assert.match(term.output(), /no answer: left to the watchdog \(pid \d+\): rolled back at \S+ unless confirmed/);
        assert.ok(pidAlive(e.pending()!.watchdogPid), 'the watchdog still waits');
        assert.equal((await e.cli(['confirm', '--reject'])).code, 0);
        assert.equal(await e.state(), before);
      }
      assert.equal(e.pending(), undefined);
      await e.noWatchdogLeft();
    }
  });
}
