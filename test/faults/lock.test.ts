// The fault suite, lock and recover (issue 14, items 1, 2, 5, 8; issue 18's stale holder;
// two users through sudo; the timer's reconcile against the twin). Each attack runs on the
// namespace of helpers/netns-env.ts (a real Docker 20.10 capture, a temp --state-dir and
// --lock-file) against real iptables; the verdict is the kernel's ruleset (`plan FILE -q`
// exits 0 only when the live ruleset holds exactly FILE's part) and flock(1) on the lock file.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, linkSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { requireRoot, skipOrFail } from '../helpers/root.js';
import { BIN4, setup, type Env } from '../helpers/netns-env.js';

const PURPOSE = 'lockfault';

/** The options that point a command at the namespace, its state and its lock. */
function opts(e: Env, lockFile = join(e.dir, 'lock')): string[] {
  return ['--netns', e.ns.path, '--backend', e.backend, '--docker-socket', '/nonexistent/sock', '--state-dir', join(e.dir, 'state'), '--lock-file', lockFile];
}

async function lockHeld(path: string): Promise<boolean> {
  return (await execa('flock', ['--nonblock', path, 'true'], { reject: false })).exitCode !== 0;
}

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const inProgress = (e: Env) => existsSync(join(e.dir, 'state', 'in-progress.json'));
const journal = async (e: Env): Promise<Array<{ result: string; file?: string; user: string; pid: number; summary?: string }>> => JSON.parse((await e.cli(['history', '--json'])).out).journal;
/** Does the live ruleset hold exactly FILE's part? */
const holds = async (e: Env, file: string) => (await e.cli(['plan', file, '-q'])).code === 0;
/** A stderr that is one line, with no stack trace. */
function oneLine(err: string, what: string): void {
  assert.doesNotMatch(err, /internal error|\n\s+at /, `${what}: no stack trace`);
  assert.equal(err.trim().split('\n').length, 1, `${what}: one line: ${err}`);
}

for (const backend of ['nft', 'legacy'] as const) {
  test(`[${backend}] recover --lock-wait while an apply verifies: the finished apply stands`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t, PURPOSE);
    const before = await e.state();
    const apply = e.cli(['apply', e.files.v4], { ISR_FAULT: 'sleep=3000@before-verify' });
    await waitFor('the apply has written (its in-progress mark)', () => inProgress(e));
    const rec = await e.cli(['recover', '--lock-wait', '30']);
    const a = await apply;
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /^applied: /m);
    assert.equal(rec.code, 0, rec.err);
    assert.doesNotMatch(rec.err, /did not finish: restoring/, 'recover took the running apply for a dead one');
    assert.ok(await holds(e, e.files.v4), 'the live ruleset is the applied file');
    assert.notEqual(await e.state(), before);
    assert.deepEqual((await journal(e)).map((j) => j.result), ['applied'], 'nothing recovered');
  });

  test(`[${backend}] apply --recover --lock-wait while an apply verifies: the running apply is not undone`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t, PURPOSE);
    const first = e.cli(['apply', e.files.v4], { ISR_FAULT: 'sleep=3000@before-verify' });
    await waitFor('the apply has written (its in-progress mark)', () => inProgress(e));
    const second = await e.cli(['apply', e.files.v4b, '--recover', '--lock-wait', '30']);
    assert.equal((await first).code, 0);
    assert.equal(second.code, 0, second.err);
    assert.doesNotMatch(second.err, /did not finish: restoring/);
    assert.ok(await holds(e, e.files.v4b));
    assert.deepEqual((await journal(e)).map((j) => j.result), ['applied', 'applied'], 'two applies, no recovery between them');
  });
}

/** Is a flock(1) running as a child of `pid` (a run waiting for, or taking, the lock)? */
function flockChildOf(pid: number): boolean {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && m[1] === 'flock' && Number(m[2]) === pid) return true;
    } catch {
      // gone
    }
  }
  return false;
}

/**
 * A Docker API that answers only when told to, a byte at a time meanwhile (so the tool's 2 s
 * idle timeout never fires): an apply asking it holds the lock, before its snapshot, until then.
 */
function slowDocker(path: string): { release: () => void; close: () => Promise<void> } {
  const waiting: Array<() => void> = [];
  let released = false;
  const server = createServer((c) => {
    c.once('data', (req: Buffer) => {
      const body = / \/networks/.test(req.toString()) ? '[]' : '{}';
      c.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
      const timer = setInterval(() => c.write('1\r\n \r\n'), 300);
      const finish = () => {
        clearInterval(timer);
        c.end(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
      };
      if (released) finish();
      else waiting.push(finish);
    });
    c.on('error', () => {});
  });
  server.listen(path);
  return {
    release: () => {
      released = true;
      for (const f of waiting.splice(0)) f();
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * An apply of FILE holds the lock while it waits for the (slow) Docker API, before its snapshot;
 * meanwhile another command starts and waits for the lock. Returns once that one is waiting.
 */
async function whileAnApplyHolds(t: TestContext, e: Env, file: string, other: string[]) {
  const sock = join(e.dir, 'docker.sock');
  const docker = slowDocker(sock);
  t.after(() => {
    docker.release();
    return docker.close();
  });
  // --lock-wait: our flock -n probe takes the lock for an instant
  const holder = execa(process.execPath, [BIN4, 'apply', file, '--lock-wait', '10', ...opts(e).map((o) => (o === '/nonexistent/sock' ? sock : o))], { reject: false });
  let ended: string | undefined;
  void holder.then((r) => (ended = `exit ${r.exitCode}: ${String(r.stderr)}`));
  await waitFor('the apply holds the lock', () => {
    if (ended) throw new Error(`the apply ended first: ${ended}`);
    return lockHeld(join(e.dir, 'lock'));
  });
  const o = execa(process.execPath, [BIN4, ...other, ...opts(e)], { reject: false });
  t.after(() => {
    // a test that failed half-way: neither may go on writing into a removed directory
    holder.kill('SIGKILL');
    o.kill('SIGKILL');
  });
  await waitFor(`${other[0]} waits for the lock`, () => flockChildOf(o.pid!));
  assert.equal(inProgress(e), false, 'the apply had not taken its snapshot yet');
  docker.release();
  return {
    holder: holder.then((r) => r.exitCode ?? -1),
    other: o.then((r) => ({ code: r.exitCode ?? -1, out: String(r.stdout), err: String(r.stderr) })),
  };
}

test('[nft] rollback --lock-wait while an apply holds the lock: "the newest snapshot" is the one taken meanwhile', async (t) => {
  if (!requireRoot(t)) return;
  const e = await setup('nft', t, PURPOSE);
  assert.equal((await e.cli(['apply', e.files.v4])).code, 0);
  const { holder, other } = await whileAnApplyHolds(t, e, e.files.v4b, ['rollback', '--lock-wait', '30']);
  assert.equal(await holder, 0);
  const rb = await other;
  assert.equal(rb.code, 0, rb.err);
  const newest = (await journal(e)).find((j) => j.result === 'applied' && j.file === e.files.v4b);
  assert.match(rb.err, new RegExp(`rolling back to snapshot ${(newest as { snapshot?: string } | undefined)?.snapshot}`));
  assert.ok(await holds(e, e.files.v4), 'rolled back to just before the last apply, not the one before it');
});

test('[nft] stop --lock-wait while an apply holds the lock: the tables it opens are those live once it has the lock', async (t) => {
  if (!requireRoot(t)) return;
  const e = await setup('nft', t, PURPOSE);
  const withMangle = join(e.dir, 'mangle.v4');
  writeFileSync(withMangle, readFileSync(e.files.v4, 'utf8') + '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 2222 -j MARK --set-xmark 0x7/0xffffffff\nCOMMIT\n', { mode: 0o600 });
  const { holder, other } = await whileAnApplyHolds(t, e, withMangle, ['stop', '--lock-wait', '30']);
  assert.equal(await holder, 0);
  const st = await other;
  assert.equal(st.code, 0, st.err);
  const live = await e.state();
  assert.doesNotMatch(live, /--dport 2222/, 'the user rule in mangle (a table made while stop waited) is gone');
  assert.doesNotMatch(live, /-A SSH|:SSH /, "the user's chain is gone");
});

for (const [backend, sig] of [['nft', 'SIGINT'], ['legacy', 'SIGHUP']] as const) {
  test(`[${backend}] ${sig} to the process group while rolling back: the lock stays held until the run ends`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t, PURPOSE);
    const before = await e.state();
    const lock = join(e.dir, 'lock');
    // a process group of its own, as a command typed at a terminal: the signal goes to the group
    const child = execa(process.execPath, [BIN4, 'apply', e.files.v4, ...opts(e)], {
      detached: true, reject: false, env: { ISR_FAULT: 'fail@after-write:ipv4:filter,sleep=4000@during-rollback' },
    });
    t.after(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    });
    let err = '';
    let ended = false;
    child.stderr?.on('data', (d: Buffer) => void (err += d.toString()));
    void child.then(() => (ended = true));
    await waitFor('the apply is rolling back', () => /rolling back to snapshot/.test(err));
    process.kill(-child.pid!, sig);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(ended, false, 'the run ended before the lock could be looked at (the fault sleeps 4 s)');
    assert.equal(await lockHeld(lock), true, `the lock was free while the run was still rolling back (after ${sig} to its group)`);
    const r = await child;
    assert.equal(r.exitCode, 4, String(r.stderr));
    assert.equal(await e.state(), before, 'rolled back');
    assert.equal(await lockHeld(lock), false, 'free once the run ended');
  });
}

test('[nft] --lock-file: an existing file, a hard link, a symlink are refused and left as they were', async (t) => {
  if (!requireRoot(t)) return;
  const e = await setup('nft', t, PURPOSE);
  const before = await e.state();
  const ruleset = readFileSync(e.files.v6, 'utf8');
  const empty = join(e.dir, 'empty');
  writeFileSync(empty, '', { mode: 0o600 });
  const linked = join(e.dir, 'linked');
  linkSync(empty, linked);
  const sym = join(e.dir, 'sym.lock');
  symlinkSync(e.files.v6, sym);
  const run = (lockFile: string) => execa(process.execPath, [BIN4, 'apply', e.files.v4, ...opts(e, lockFile)], { reject: false });
  for (const [path, what, why] of [[e.files.v6, 'a ruleset file', /holds something else/], [linked, 'a hard link', /2 hard links/], [sym, 'a symlink', /symbolic link/]] as const) {
    const r = await run(path);
    assert.equal(r.exitCode, 1, `${what}: ${r.stderr}`);
    oneLine(String(r.stderr), what);
    assert.match(String(r.stderr), /--lock-file .*: refused: /, what);
    assert.match(String(r.stderr), why, what);
  }
  assert.equal(readFileSync(e.files.v6, 'utf8'), ruleset, 'the ruleset file named as lock file is intact');
  assert.equal(readFileSync(empty, 'utf8'), '', 'nothing written through the hard link');
  assert.equal(await e.state(), before, 'nothing applied');
  // ours: a new file, then the same file again (it was emptied on release), then one holding a stale holder line
  const fresh = join(e.dir, 'fresh.lock');
  assert.equal((await run(fresh)).exitCode, 0);
  assert.equal(statSync(fresh).mode & 0o777, 0o600);
  assert.equal(readFileSync(fresh, 'utf8'), '', 'the holder line goes with the lock');
  writeFileSync(fresh, JSON.stringify({ pid: 1, command: 'apply x', since: '2026-01-01T00:00:00.000Z' }) + '\n');
  assert.equal((await execa(process.execPath, [BIN4, 'apply', e.files.v4b, ...opts(e, fresh)], { reject: false })).exitCode, 0);
});

test('[nft] the lock held by a process that is not the one its file names: "held by another process"', async (t) => {
  if (!requireRoot(t)) return;
  const e = await setup('nft', t, PURPOSE);
  const lock = join(e.dir, 'lock');
  const exited = execa('true');
  const gone = { pid: exited.pid! };
  await exited;
  writeFileSync(lock, JSON.stringify({ pid: gone.pid, command: 'apply /etc/old.rules', since: '2026-01-01T00:00:00.000Z' }) + '\n', { mode: 0o600 });
  const holder = execa('flock', ['--exclusive', lock, 'cat'], { reject: false, stdin: 'pipe' });
  try {
    await waitFor('flock(1) holds the lock', () => lockHeld(lock));
    const r = await e.cli(['apply', e.files.v4]);
    assert.equal(r.code, 6, r.err);
    assert.match(r.err, /held by another process/);
    assert.doesNotMatch(r.err, new RegExp(`pid ${gone.pid}\\b`), 'names a process that has exited');
  } finally {
    holder.stdin?.end();
    await holder;
  }
  // and a live run of ours is named, with the pid the journal records for it
  const first = e.cli(['apply', e.files.v4], { ISR_FAULT: 'sleep=2500@after-snapshot' });
  await waitFor('the first apply took its snapshot', () => inProgress(e));
  const busy = await e.cli(['apply', e.files.v4b]);
  assert.equal((await first).code, 0);
  assert.equal(busy.code, 6);
  assert.match(busy.err, new RegExp(`another run holds the lock: pid ${(await journal(e))[0].pid} \\(.*apply`));
});

// Item 8: the legacy xtables lock (here at XTABLES_LOCKFILE, so the host's own is not touched)
// held by another process for as long as the test wants; nft does not use it.
test('[legacy] -w 2 bounds every wait for the xtables lock (canonicalization in a throwaway namespace for apply, plan and the twin; --test)', async (t) => {
  if (!requireRoot(t)) return;
  const e = await setup('legacy', t, PURPOSE);
  // the second file's canonical form cached (plan): its apply goes straight to iptables-restore --test
  await e.cli(['plan', e.files.v4b]);
  const xt = join(e.dir, 'xtables.lock');
  writeFileSync(xt, '');
  const holder = execa('flock', ['--exclusive', xt, 'cat'], { reject: false, stdin: 'pipe' });
  t.after(async () => {
    holder.stdin?.end();
    await holder;
  });
  await waitFor('the xtables lock is held', () => lockHeld(xt));
  const before = await e.state();
  // (plan takes no --lock-file)
  const bounded = (args: string[]) => execa(process.execPath, [BIN4, ...args, ...opts(e).slice(0, args[0] === 'plan' ? -2 : undefined)], { reject: false, timeout: 40_000, env: { XTABLES_LOCKFILE: xt } });
  for (const args of [['apply', e.files.v4, '-w', '2'], ['plan', e.files.v4, '-w', '2'], [e.files.v4, '-t', '-w', '2'], [e.files.v4, '-w', '2'], ['apply', e.files.v4b, '-w', '2']]) {
    const r = await bounded(args);
    assert.notEqual(r.timedOut, true, `${args.join(' ')}: still waiting for the xtables lock after 40 s`);
    assert.equal(r.exitCode, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(String(r.stderr), /xtables.lock/, args.join(' '));
  }
  assert.equal(await lockHeld(xt), true, 'the xtables lock was held throughout');
  assert.equal(await e.state(), before);
  holder.stdin?.end();
  await holder;
  const ok = await bounded(['apply', e.files.v4, '-w', '2']);
  assert.equal(ok.exitCode, 0, String(ok.stderr));
});

test('[nft] -w 2 with the xtables lock held: nft does not use it, the apply goes through', async (t) => {
  if (!requireRoot(t)) return;
  const e = await setup('nft', t, PURPOSE);
  const xt = join(e.dir, 'xtables.lock');
  writeFileSync(xt, '');
  const holder = execa('flock', ['--exclusive', xt, 'cat'], { reject: false, stdin: 'pipe' });
  t.after(async () => {
    holder.stdin?.end();
    await holder;
  });
  await waitFor('the xtables lock is held', () => lockHeld(xt));
  const r = await execa(process.execPath, [BIN4, 'apply', e.files.v4, '-w', '2', ...opts(e)], { reject: false, timeout: 40_000, env: { XTABLES_LOCKFILE: xt } });
  assert.equal(r.exitCode, 0, String(r.stderr));
  assert.ok(await holds(e, e.files.v4));
});

// Two people, each with their own login, applying through sudo at the same moment.
const USERS = ['isrlock-a', 'isrlock-b'] as const;

async function sudoUsers(t: TestContext): Promise<boolean> {
  if ((await execa('sudo', ['--version'], { reject: false })).exitCode !== 0) return skipOrFail(t, 'needs sudo (apt-get install sudo)');
  const sudoers = `/etc/sudoers.d/isr-lock-test-${process.pid}`;
  t.after(async () => {
    rmSync(sudoers, { force: true });
    for (const u of USERS) await execa('userdel', [u], { reject: false });
  });
  for (const u of USERS) {
    await execa('userdel', [u], { reject: false });
    await execa('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', u]);
  }
  writeFileSync(sudoers, USERS.map((u) => `${u} ALL=(root) NOPASSWD: ALL\n`).join(''), { mode: 0o440 });
  await execa('visudo', ['-cf', sudoers]);
  return true;
}

/** `sudo iptables-safe-restore ARGS` typed by USER (umask 077 for one, 002 for the other, as people have). */
function asUser(e: Env, user: string, args: string[], env: Record<string, string> = {}) {
  const umask = user === USERS[0] ? '077' : '002';
  const cmd = ['sudo', '-n', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN4, ...args, ...opts(e)];
  return execa('runuser', ['-u', user, '--', 'sh', '-c', `umask ${umask}; exec "$@"`, 'sh', ...cmd], { reject: false, cwd: '/' }).then((r) => ({ code: r.exitCode ?? -1, err: String(r.stderr) }));
}

test('[nft] two users apply through sudo at once: exactly one wins, the other exits 6 naming it or waits; the ruleset is exactly one file', async (t) => {
  if (!requireRoot(t)) return;
  const e = await setup('nft', t, PURPOSE);
  if (!(await sudoUsers(t))) return;
  const [a, b] = USERS;
  const slow = { ISR_FAULT: 'sleep=1500@after-snapshot' };
  // long enough for a second `sudo node …` to start on a busy machine
  const slower = { ISR_FAULT: 'sleep=5000@after-snapshot' };
  // at the same moment, neither waiting
  const both = await Promise.all([asUser(e, a, ['apply', e.files.v4], slow), asUser(e, b, ['apply', e.files.v4b], slow)]);
  assert.deepEqual(both.map((r) => r.code).sort(), [0, 6], both.map((r) => r.err).join('\n'));
  const won = both[0].code === 0 ? 0 : 1;
  const loser = both[1 - won];
  assert.match(loser.err, /another run holds the lock: pid \d+ \(.*apply|held by another process/);
  const [winFile, loseFile] = won === 0 ? [e.files.v4, e.files.v4b] : [e.files.v4b, e.files.v4];
  assert.ok(await holds(e, winFile), "the winner's file is what the kernel holds");
  assert.equal((await journal(e))[0].user, USERS[won], 'the journal names the user behind sudo');
  // one after the other, the second not waiting: it names the holder's pid
  const first = asUser(e, a, ['apply', loseFile], slower);
  await waitFor('the first apply took its snapshot', () => inProgress(e));
  const busy = await asUser(e, b, ['apply', winFile]);
  assert.equal((await first).code, 0);
  assert.equal(busy.code, 6, busy.err);
  assert.match(busy.err, new RegExp(`another run holds the lock: pid ${(await journal(e))[0].pid} \\(.*apply`));
  assert.ok(await holds(e, loseFile));
  // the second waits (--lock-wait): both apply, in order, never interleaved
  const third = asUser(e, a, ['apply', winFile], slower);
  await waitFor('the apply took its snapshot', () => inProgress(e));
  const waited = await asUser(e, b, ['apply', loseFile, '--lock-wait', '30']);
  assert.equal((await third).code, 0);
  assert.equal(waited.code, 0, waited.err);
  assert.ok(await holds(e, loseFile), 'the one that waited ran last');
  assert.deepEqual((await journal(e)).slice(0, 2).map((j) => [j.result, j.user]), [['applied', b], ['applied', a]]);
  const lock = statSync(join(e.dir, 'lock'));
  assert.equal(lock.mode & 0o777, 0o600, 'the lock file stays 0600 whatever the umask');
  assert.equal(lock.size, 0, 'no holder line left behind');
});

test("[legacy] the timer's reconcile while a person runs the twin: never interleaved; the twin's result stands or is repaired to the file", async (t) => {
  if (!requireRoot(t)) return;
  const e = await setup('legacy', t, PURPOSE);
  const [twinFile, file] = [e.files.v4b, e.files.v4];
  // the twin is writing: reconcile (no --lock-wait, as the timer runs it) leaves it alone, quietly
  const twin = e.cli([twinFile], { ISR_FAULT: 'sleep=2500@before-verify' });
  await waitFor('the twin has written', () => inProgress(e));
  assert.deepEqual(await e.cli(['reconcile', file]), { code: 6, out: '', err: '' });
  assert.equal((await twin).code, 0);
  assert.ok(await holds(e, twinFile), "the twin's result stands");
  // the next timer run repairs it to the file
  const fixed = await e.cli(['reconcile', file]);
  assert.equal(fixed.code, 7, fixed.err);
  assert.ok(await holds(e, file));
  // a reconcile that waits for the twin runs after it, and repairs
  const twin2 = e.cli([twinFile], { ISR_FAULT: 'sleep=1500@before-verify' });
  await waitFor('the twin has written', () => inProgress(e));
  const waited = await e.cli(['reconcile', file, '--lock-wait', '30']);
  assert.equal((await twin2).code, 0);
  assert.equal(waited.code, 7, waited.err);
  assert.ok(await holds(e, file));
  // started together, in either order: the ruleset is exactly one of the two files
  for (let round = 0; round < 3; round++) {
    const [tw, rc] = await Promise.all([e.cli([twinFile]), e.cli(['reconcile', file, '--lock-wait', '30'])]);
    assert.equal(tw.code, 0, tw.err);
    assert.ok([0, 7].includes(rc.code), rc.err);
    const last = (await journal(e))[0];
    assert.ok(await holds(e, last.file === file ? file : twinFile), `round ${round}: the ruleset is the last run's file (${last.file})`);
  }
});
