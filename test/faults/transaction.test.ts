// The fault suite, transaction and state (issue 14, items 3, 4, 9, 12, 13, and the state
// directory on a read-only filesystem, the clock jumping back during --confirm, a power cut):
// attacks on an apply in throwaway namespaces holding a real Docker 20.10 capture
// (helpers/netns-host.ts), real iptables, nft and legacy where the backend matters. Each test
// checks the live ruleset against the one before (or the file's rules), what the tool said,
// its exit code and what it left in its state directory. The table: docs/faults.md.
//
// Hung tools and half-applied restores are made by wrappers put first on the tool's PATH
// (`iptables-nft-restore` etc., shell scripts that run the real program unless a flag file the
// test creates at the right moment says otherwise); everything else is the real program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot, skipOrFail } from '../helpers/root.js';
import { killWatchdogsOf, watchdogsOf } from '../helpers/watchdogs.js';
import { dockerHost, type Host, type Ran } from '../helpers/netns-host.js';

const USER4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SSH - [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22 -j SSH
-A SSH -s 10.0.0.0/8 -j ACCEPT
-A FORWARD -s 203.0.113.0/24 -j DROP
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth9 -j MASQUERADE
COMMIT
`;
/** The file's mark in the live ruleset: present once its filter table is written. */
const WRITTEN = /^-A SSH -s 10\.0\.0\.0\/8 -j ACCEPT$/m;

interface Tx {
  h: Host;
  file: string;
  state: string;
  lock: string;
  /** The tool with ARGS and this test's --state-dir/--lock-file (overridable). */
  run: (args: string[], o?: { env?: Record<string, string>; state?: string; wrap?: string[] }) => Promise<Ran>;
  /** Start the tool without waiting for it. */
  start: (args: string[], o?: { env?: Record<string, string> }) => ReturnType<typeof execa>;
}

async function host(backend: 'nft' | 'legacy', t: Parameters<typeof dockerHost>[1]): Promise<Tx> {
  const h = await dockerHost(backend, t, 'txfault');
  const file = h.file('rules.v4', USER4);
  const state = join(h.dir, 'state');
  const lock = join(h.dir, 'lock');
  const argv = (args: string[], s = state) => [join(process.cwd(), 'bin', 'iptables-safe-restore'), ...args, ...h.hostOptions(false), '--state-dir', s, '--lock-file', lock];
  const ran = (r: { exitCode?: number; signal?: string; stdout?: unknown; stderr?: unknown }): Ran => ({
    code: r.exitCode ?? (r.signal ? -1 : -2), out: String(r.stdout ?? ''), err: String(r.stderr ?? ''),
  });
  return {
    h, file, state, lock,
    run: async (args, o = {}) => {
      const cmd = [...(o.wrap ?? []), process.execPath, ...argv(args, o.state)];
      return ran(await execa(cmd[0], cmd.slice(1), { reject: false, stdin: 'ignore', env: { ...o.env } }));
    },
    start: (args, o = {}) => execa(process.execPath, argv(args), { reject: false, stdin: 'ignore', env: { ...o.env } }),
  };
}

/** Every file and directory under `dir` (relative paths), or [] when it does not exist. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The last journal entry's result (read as root from the file itself). */
function lastResult(state: string): string | undefined {
  const lines = readFileSync(join(state, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean);
  return lines.length ? (JSON.parse(lines[lines.length - 1]) as { result: string }).result : undefined;
}

/** No line of the tool's output is a stack trace or an internal error. */
function noTrace(r: Ran): void {
  assert.doesNotMatch(r.err + r.out, /internal error|\n\s+at \S+ \(/, `a stack trace:\n${r.err}`);
}

// ---------------------------------------------------------------------------------------
// 3. State paths that are symlinks: refused before the first write of any kind.

test('[nft] a symlinked --state-dir, or a symlink at any state path inside it: refused before anything is written', async (t) => {
  if (!requireRoot(t)) return;
  const x = await host('nft', t);
  const before = await x.h.state();
  const elsewhere = join(x.h.dir, 'elsewhere');
  mkdirSync(elsewhere, { mode: 0o700 });
  // the directory itself
  const link = join(x.h.dir, 'state-link');
  symlinkSync(elsewhere, link);
  const r = await x.run(['apply', x.file], { state: link });
  assert.equal(r.code, 1, r.err);
  noTrace(r);
  assert.match(r.err, /state-link.*symlink|symlink.*state-link/);
  assert.deepEqual(tree(elsewhere), [], 'nothing written through the link (no snapshot, no cache)');
  assert.equal(await x.h.state(), before);
  // its subdirectories and the files an apply writes
  for (const name of ['cache', 'snapshots', 'journal.jsonl', 'in-progress.json', 'confirm-pending.json']) {
    rmSync(x.state, { recursive: true, force: true });
    mkdirSync(x.state, { mode: 0o700 });
    const target = join(elsewhere, name);
    symlinkSync(target, join(x.state, name));
    const s = await x.run(['apply', x.file]);
    assert.equal(s.code, 1, `${name}: ${s.err}`);
    noTrace(s);
    assert.match(s.err, new RegExp(`${name.replace('.', '\\.')}.*(symlink|not a plain)`), name);
    assert.equal(s.err.trim().split('\n').length, 1, `${name}: one line: ${s.err}`);
    assert.deepEqual(tree(elsewhere), [], `${name}: nothing written through the link`);
    assert.deepEqual(tree(x.state), [name], `${name}: nothing written beside it`);
    assert.equal(await x.h.state(), before, name);
  }
});

// The state directory on a read-only filesystem: a read-only bind mount in a private mount
// namespace (unshare), so that nothing outside the tool's process sees it.

test('[nft] the state directory on a read-only filesystem: refused before any write, one line, nothing changed', async (t) => {
  if (!requireRoot(t)) return;
  const x = await host('nft', t);
  const first = await x.run(['apply', x.file]);
  assert.equal(first.code, 0, first.err);
  const other = x.h.file('rules-b.v4', USER4.replace('-A SSH -s 10.0.0.0/8 -j ACCEPT', '-A SSH -s 192.168.0.0/16 -j ACCEPT'));
  const before = await x.h.state();
  const stateBefore = tree(x.state);
  const journalBefore = readFileSync(join(x.state, 'journal.jsonl'), 'utf8');
  const ro = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', `mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"`, x.state];
  for (const [args, code] of [[['apply', other], 1], [['apply', x.file], 1], [['rollback'], 1]] as const) {
    const r = await x.run([...args], { wrap: ro });
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    noTrace(r);
    assert.match(r.err, /read-only/, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, `${args.join(' ')}: one line: ${r.err}`);
    assert.equal(await x.h.state(), before, `${args.join(' ')}: nothing changed`);
  }
  assert.deepEqual(tree(x.state), stateBefore);
  assert.equal(readFileSync(join(x.state, 'journal.jsonl'), 'utf8'), journalBefore);
});

// ---------------------------------------------------------------------------------------
// 4. The journal cannot be written: no stack trace, and it never undoes a verified apply.

test('[nft] journal.jsonl made a symlink during the apply: the verified apply stands, with a warning, exit 0', async (t) => {
  if (!requireRoot(t)) return;
  const x = await host('nft', t);
  const decoy = join(x.h.dir, 'decoy');
  writeFileSync(decoy, '');
  const p = x.start(['apply', x.file], { env: { ISR_FAULT: 'sleep=2500@before-verify' } });
  await until('the writes', async () => WRITTEN.test(await x.h.state()));
  rmSync(join(x.state, 'journal.jsonl'), { force: true });
  symlinkSync(decoy, join(x.state, 'journal.jsonl'));
  const r = await p;
  const ran = { code: r.exitCode ?? -1, out: String(r.stdout), err: String(r.stderr) };
  noTrace(ran);
  assert.equal(ran.code, 0, ran.err);
  assert.match(ran.out + ran.err, /applied/);
  assert.match(ran.err, /warning: .*journal.*(could not|cannot) be written/i);
  assert.match(await x.h.state(), WRITTEN, 'the apply was not undone');
  assert.equal(readFileSync(decoy, 'utf8'), '', 'nothing written through the link');
  assert.equal(existsSync(join(x.state, 'in-progress.json')), false, 'no unfinished mark: it did finish');
});

test('[nft] the state directory fills up after the snapshot: applied (or rolled back, exit 4), never a trace, no mark left', async (t) => {
  if (!requireRoot(t)) return;
  const x = await host('nft', t);
  const small = join(x.h.dir, 'small');
  mkdirSync(small);
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'isr-txfault-small', small]);
  try {
    await fillsUp(x, small);
  } finally {
    await execa('umount', ['-l', small], { reject: false });
  }
});

async function fillsUp(x: Tx, small: string): Promise<void> {
  const before = await x.h.state();
  const fill = () => {
    try {
      for (let i = 0; ; i++) writeFileSync(join(small, `fill-${i}`), Buffer.alloc(16384));
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    }
  };
  const unfill = () => { for (const n of readdirSync(small)) if (n.startsWith('fill-')) rmSync(join(small, n)); };
  for (const [fault, code] of [['', 0], ['fail@after-write:ipv4:nat', 4]] as const) {
    rmSync(join(small, 'journal.jsonl'), { force: true }); // (an append that fits the file's last page needs no room)
    const env = { ISR_FAULT: ['sleep=1500@after-snapshot', fault].filter(Boolean).join(',') };
    const p = execa(process.execPath, [join(process.cwd(), 'bin', 'iptables-safe-restore'), 'apply', x.file, ...x.h.hostOptions(false), '--state-dir', small, '--lock-file', x.lock], { reject: false, env });
    await until('the snapshot', () => existsSync(join(small, 'in-progress.json')));
    fill();
    const r = await p;
    const ran = { code: r.exitCode ?? -1, out: String(r.stdout), err: String(r.stderr) };
    noTrace(ran);
    assert.equal(ran.code, code, `${fault || 'no fault'}: ${ran.err}`);
    assert.match(ran.err, /warning: .*journal.*(could not|cannot) be written.*ENOSPC/i);
    assert.equal(existsSync(join(small, 'in-progress.json')), false, 'no unfinished mark left');
    if (code === 0) assert.match(await x.h.state(), WRITTEN);
    else assert.equal(await x.h.state(), before, 'rolled back');
    unfill();
    if (code === 0) assert.equal((await x.run(['rollback'], { state: small })).code, 0);
  }
}

// ---------------------------------------------------------------------------------------
// 9. A signal between the first write and the journal's "applied" rolls back, always; one
// before the first write stops the run with nothing changed; one after the outcome is recorded
// leaves it standing — and the tool says which.

/** Wait (polling every 2 ms) until the apply has written its in-progress mark, or has exited. */
async function untilMark(x: Tx, p: ReturnType<Tx['start']>): Promise<void> {
  let exited = false;
  void p.finally(() => (exited = true));
  while (!exited && !existsSync(join(x.state, 'in-progress.json'))) await new Promise((r) => setTimeout(r, 2));
}

/** What one interrupted apply did: exit code, what it said, the live ruleset, its journal. */
async function interruptedApply(x: Tx, sig: NodeJS.Signals, when: { fault?: string; afterMark?: number; afterWritten?: number }) {
  const p = x.start(['apply', x.file], { env: when.fault ? { ISR_FAULT: when.fault } : {} });
  if (when.afterMark !== undefined) {
    await untilMark(x, p);
    await new Promise((r) => setTimeout(r, when.afterMark));
  } else if (when.afterWritten !== undefined) {
    await until('the writes', async () => WRITTEN.test(await x.h.state()));
    await new Promise((r) => setTimeout(r, when.afterWritten));
  }
  const delivered = p.kill(sig);
  const r = await p;
  return { delivered, code: r.exitCode ?? (r.signal ? `killed by ${r.signal}` : 'none'), said: String(r.stdout) + String(r.stderr), live: await x.h.state() };
}

test('[nft] SIGTERM or SIGINT after the writes, during or after verification: rolled back, exit 4, and said so', async (t) => {
  if (!requireRoot(t)) return;
  const x = await host('nft', t);
  const before = await x.h.state();
  const cases: Array<[NodeJS.Signals, string, number]> = [
    ['SIGTERM', 'sleep=2000@after-write:ipv4:filter', 100],
    ['SIGINT', 'sleep=2000@before-verify', 400],
    ['SIGTERM', 'sleep=2000@after-verify', 800],
    ['SIGHUP', 'sleep=2000@after-verify', 800],
  ];
  for (const [sig, fault, ms] of cases) {
    const r = await interruptedApply(x, sig, { fault, afterWritten: ms });
    const what = `${sig} at ${fault}: ${r.said}`;
    assert.ok(r.delivered, what);
    assert.equal(r.code, 4, what);
    assert.match(r.said, new RegExp(`interrupted by ${sig}`), what);
    assert.match(r.said, /FAILED and rolled back/, what);
    assert.equal(r.live, before, what);
    assert.equal(lastResult(x.state), 'rolled-back', what);
    assert.equal(existsSync(join(x.state, 'in-progress.json')), false, what);
  }
});

test('[legacy] SIGTERM at 12 moments spread over an apply: each outcome is whole and said, none silent', async (t) => {
  if (!requireRoot(t)) return;
  const x = await host('legacy', t);
  const before = await x.h.state();
  // how long an apply takes here from its snapshot (the in-progress mark) to its end, to spread
  // the signals over that (and a little past it): the window of the writes and verification
  const p = x.start(['apply', x.file]);
  await untilMark(x, p);
  const t0 = Date.now();
  assert.equal((await p).exitCode, 0);
  const span = Date.now() - t0;
  assert.equal((await x.run(['rollback'])).code, 0);
  assert.equal(await x.h.state(), before);
  const seen = new Map<string, number>();
  for (let i = 0; i < 12; i++) {
    const r = await interruptedApply(x, 'SIGTERM', { afterMark: Math.round((span * 1.5 * i) / 11) });
    const what = `trial ${i} (${r.code}): ${r.said}`;
    let kind: string;
    if (r.code === 4) {
      kind = 'rolled back';
      assert.match(r.said, /interrupted by SIGTERM.*\n.*FAILED and rolled back/s, what);
      assert.equal(r.live, before, what);
    } else if (r.code === 0) {
      kind = 'applied';
      assert.match(r.said, /applied: /, what);
      if (r.delivered) assert.match(r.said, /SIGTERM arrived after the outcome was recorded/, `a signal during the run, ignored: ${what}`);
      assert.match(r.live, WRITTEN, what);
      assert.equal((await x.run(['rollback'])).code, 0);
    } else if (r.code === 1) {
      kind = 'stopped';
      assert.match(r.said, /interrupted by SIGTERM before anything was written: nothing was changed/, what);
      assert.equal(r.live, before, what);
    } else if (/applied: /.test(r.said)) {
      // the default action again once the run is over: killed after saying so
      kind = 'killed after reporting "applied"';
      assert.equal(r.code, 'killed by SIGTERM', what);
      assert.match(r.live, WRITTEN, what);
      assert.equal(lastResult(x.state), 'applied', what);
      assert.equal((await x.run(['rollback'])).code, 0);
    } else {
      kind = 'killed before the lock';
      assert.equal(r.code, 'killed by SIGTERM', what);
      assert.equal(r.said, '', what);
      assert.equal(r.live, before, what);
    }
    assert.equal(existsSync(join(x.state, 'in-progress.json')), false, what);
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
  }
  t.diagnostic(`${span} ms from the mark to the end; outcomes: ${[...seen].map(([k, n]) => `${k} ${n}`).join(', ')}`);
});

// ---------------------------------------------------------------------------------------
// 12. A hung iptables-restore or iptables-save: killed at --timeout with everything it started,
// and the writes rolled back.

/**
 * A directory to put first on the tool's PATH: `iptables-BACKEND-restore` and `-save` that run
 * the real program, except once the test creates `hang-restore` / `hang-save` in it (and for
 * restore, `partial`: the real program is given the input without the lines matching the
 * flag file's pattern, and says nothing — a restore of which only part arrived). Each flag is
 * removed as it is taken; a hanging wrapper starts a child of its own and records both pids.
 */
async function wrappers(dir: string, backend: 'nft' | 'legacy'): Promise<{ path: string; flag: (name: string, text?: string) => void; pids: () => number[] }> {
  mkdirSync(dir, { recursive: true });
  for (const tool of ['restore', 'save']) {
    const name = `iptables-${backend}-${tool}`;
    const real = (await execa('sh', ['-c', `command -v ${name}`])).stdout.trim();
    assert.ok(real.startsWith('/'), `${name} not found`);
    writeFileSync(join(dir, name), `#!/bin/sh
# a test wrapper (test/faults/transaction.test.ts)
d=${dir}
if [ -e "$d/hang-${tool}" ]; then
  rm -f "$d/hang-${tool}"
  echo $$ > "$d/hung-self"
  sleep 1000 & echo $! > "$d/hung-child"
  wait
  exit 0
fi
if [ "${tool}" = restore ] && [ -e "$d/partial" ]; then
  case " $* " in *" --test "*) ;; *)
    pattern=$(cat "$d/partial"); rm -f "$d/partial"
    grep -v -e "$pattern" | "${real}" "$@"
    exit $?;;
  esac
fi
exec "${real}" "$@"
`);
    chmodSync(join(dir, name), 0o755);
  }
  return {
    path: `${dir}:${process.env.PATH}`,
    flag: (name, text = '') => writeFileSync(join(dir, name), text),
    pids: () => ['hung-self', 'hung-child'].filter((f) => existsSync(join(dir, f))).map((f) => Number(readFileSync(join(dir, f), 'utf8'))),
  };
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

for (const backend of ['nft', 'legacy'] as const) {
  test(`[${backend}] iptables-restore, then iptables-save, hang after the first write: killed at --timeout with their children, rolled back, exit 4`, { timeout: 180_000 }, async (t) => {
    if (!requireRoot(t)) return;
    const x = await host(backend, t);
    const before = await x.h.state();
    const w = await wrappers(join(x.h.dir, 'wrap'), backend);
    for (const [tool, step] of [['restore', 'after-write:ipv4:filter'], ['save', 'before-verify']] as const) {
      rmSync(join(x.h.dir, 'wrap', 'hung-self'), { force: true });
      const p = x.start(['apply', x.file, '--timeout', '2s'], { env: { PATH: w.path, ISR_FAULT: `sleep=1500@${step}` } });
      await until('the first write', async () => WRITTEN.test(await x.h.state()));
      w.flag(`hang-${tool}`);
      const r = await p;
      const said = String(r.stdout) + String(r.stderr);
      assert.ok(!existsSync(join(x.h.dir, 'wrap', `hang-${tool}`)), `${tool}: the wrapper hung (took its flag)`);
      assert.equal(r.exitCode, 4, `${tool}: ${said}`);
      assert.match(said, /timed out after 2 s/, tool);
      assert.match(said, /FAILED and rolled back/, tool);
      assert.equal(await x.h.state(), before, `${tool}: rolled back`);
      const pids = w.pids();
      assert.equal(pids.length, 2, `${tool}: the wrapper and its child recorded their pids`);
      for (const pid of pids) assert.ok(!alive(pid), `${tool}: pid ${pid} of the hung tree is still running`);
      assert.equal(lastResult(x.state), 'rolled-back', tool);
      // the lock is free again: the next run takes it at once
      const next = await x.run(['apply', x.file]);
      assert.equal(next.code, 0, next.err);
      assert.equal((await x.run(['rollback'])).code, 0);
      assert.equal(await x.h.state(), before);
    }
  });
}

test('[nft] the timeout setting: --timeout and `timeout =` in the configuration are checked like any duration', async (t) => {
  if (!requireRoot(t)) return;
  const x = await host('nft', t);
  const bad = await x.run(['apply', x.file, '--timeout', 'soon']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--timeout: 'soon' is not a duration/);
  const conf = x.h.file('isr.conf', 'timeout = 0.1s\n');
  const c = await x.run(['apply', x.file, '--config', conf]);
  assert.equal(c.code, 1);
  assert.match(c.err, /isr\.conf:1: timeout: '0\.1s' is out of range/);
  // a bound from the configuration applies (to a restore hung from the first write on)
  const w = await wrappers(join(x.h.dir, 'wrap'), 'nft');
  writeFileSync(conf, 'timeout = 1s\n');
  const before = await x.h.state();
  const p = x.start(['apply', x.file, '--config', conf], { env: { PATH: w.path, ISR_FAULT: 'sleep=1500@after-snapshot' } });
  await until('the snapshot', () => existsSync(join(x.state, 'in-progress.json')));
  w.flag('hang-restore');
  const r = await p;
  assert.match(String(r.stderr), /timed out after 1 s/);
  assert.ok(r.exitCode === 4 || r.exitCode === 1, String(r.stderr));
  assert.equal(await x.h.state(), before);
});

// ---------------------------------------------------------------------------------------
// 13. A restore of which only part arrived (the wrapper drops a line and exits 0): repaired by
// verification, and reported as what it was, not as Docker's doing.

for (const backend of ['nft', 'legacy'] as const) {
  test(`[${backend}] a half-applied restore is repaired and said to be one ("the kernel held only part"), not "Docker changed its rules"`, async (t) => {
    if (!requireRoot(t)) return;
    const x = await host(backend, t);
    const w = await wrappers(join(x.h.dir, 'wrap'), backend);
    const p = x.start(['apply', x.file], { env: { PATH: w.path, ISR_FAULT: 'sleep=800@after-snapshot' } });
    await until('the snapshot', () => existsSync(join(x.state, 'in-progress.json')));
    w.flag('partial', '-A SSH -s 10.0.0.0/8 -j ACCEPT');
    const r = await p;
    const said = String(r.stdout) + String(r.stderr);
    assert.ok(!existsSync(join(x.h.dir, 'wrap', 'partial')), 'the wrapper dropped the line (took its flag)');
    assert.equal(r.exitCode, 0, said);
    assert.match(said, /applied: .*2 rounds: the kernel held only part of what was written; wrote the rest/);
    assert.doesNotMatch(said, /Docker changed/);
    assert.match(await x.h.state(), WRITTEN, 'repaired');
  });
}

// ---------------------------------------------------------------------------------------
// A power cut after the first iptables write. The method: the apply runs under strace (file
// and directory syscalls, fsync, execve) and is SIGKILLed right after its first write
// (ISR_FAULT=kill@after-write:ipv4:filter). The trace is replayed through a model of a disk
// that keeps only what was made durable: a file's contents once fsynced (a rename carries them
// to the new name), a directory entry (a file or directory created, renamed in) once its
// directory is fsynced after it. Everything that existed before the apply counts as durable
// (`sync` runs first). At the first write (the execve of iptables-*-restore in the host's
// namespace without --test) the
// model says which state files would survive a power cut; a copy of the state directory holding
// only those is what the host would boot with, and `recover` run on that copy must restore
// the ruleset as it was.

interface DiskModel {
  synced: Set<string>;
  entries: Set<string>;
  pending: Map<string, Set<string>>;
}

function replay(trace: string, netns: string): { model: DiskModel; atFirstWrite: DiskModel | undefined } {
  const model: DiskModel = { synced: new Set(), entries: new Set(), pending: new Map() };
  const copy = (m: DiskModel): DiskModel => ({ synced: new Set(m.synced), entries: new Set(m.entries), pending: new Map() });
  const dirOf = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
  const enter = (p: string) => {
    model.entries.delete(p);
    const set = model.pending.get(dirOf(p)) ?? new Set<string>();
    set.add(p);
    model.pending.set(dirOf(p), set);
  };
  const partial = new Map<string, string>();
  let atFirstWrite: DiskModel | undefined;
  for (let line of trace.split('\n')) {
    const pid = /^(\d+) /.exec(line)?.[1] ?? '';
    line = line.replace(/^\d+ +/, '');
    if (line.endsWith('<unfinished ...>')) {
      partial.set(pid, line.replace(/ ?<unfinished \.\.\.>$/, ''));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) line = (partial.get(pid) ?? '') + resumed[1];
    if (/= -1 /.test(line)) continue;
    let m: RegExpExecArray | null;
    if ((m = /^execve\("[^"]*", \[(.*?)\]/.exec(line))) {
      const argv = m[1];
      // (a restore in the host's namespace, not --test: not canonicalization's throwaway one)
      if (!atFirstWrite && argv.includes(`"--net=${netns}"`) && /"ip6?tables-(nft|legacy)-restore"/.test(argv) && !argv.includes('"--test"')) atFirstWrite = copy(model);
    } else if ((m = /^openat\([^,]+, "([^"]+)", [^)]*O_CREAT/.exec(line))) {
      if (!model.entries.has(m[1])) enter(m[1]);
    } else if ((m = /^mkdir(?:at\([^,]+,)?\(? ?"([^"]+)"/.exec(line))) {
      enter(m[1]);
    } else if ((m = /^rename(?:at2?)?\((?:[^,]+, )?"([^"]+)", (?:[^,]+, )?"([^"]+)"/.exec(line))) {
      const [, from, to] = m;
      model.entries.delete(from);
      if (model.synced.delete(from)) model.synced.add(to);
      else model.synced.delete(to);
      enter(to);
    } else if ((m = /^f(?:data)?sync\(\d+<([^>]+)>\)/.exec(line))) {
      model.synced.add(m[1]);
      for (const p of model.pending.get(m[1]) ?? []) model.entries.add(p);
      model.pending.delete(m[1]);
    }
  }
  return { model, atFirstWrite };
}

/** Would `path` (under `root`, which existed before) survive: its contents and every entry down to it? */
function survives(m: DiskModel, root: string, path: string, isFile: boolean): boolean {
  if (isFile && !m.synced.has(path)) return false;
  for (let p = path; p !== root; p = p.slice(0, p.lastIndexOf('/'))) if (!m.entries.has(p)) return false;
  return true;
}

test('[nft] a power cut right after the first write: the snapshot and the in-progress mark are on disk, and recover restores from them', { timeout: 120_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const x = await host('nft', t);
  const before = await x.h.state();
  await execa('sync');
  const traceFile = join(x.h.dir, 'trace');
  const r = await x.run(['apply', x.file], {
    env: { ISR_FAULT: 'kill@after-write:ipv4:filter' },
    wrap: ['strace', '-f', '-qq', '-y', '-s', '512', '-o', traceFile, '-e', 'trace=openat,mkdir,mkdirat,rename,renameat,renameat2,fsync,fdatasync,execve'],
  });
  assert.equal(r.code, -1, `killed: ${r.err}`);
  assert.match(await x.h.state(), WRITTEN, 'the first write happened');
  const { atFirstWrite } = replay(readFileSync(traceFile, 'utf8'), x.h.ns.path);
  assert.ok(atFirstWrite, 'the trace shows the first write');
  // what the state directory holds now, and what of it a power cut at the first write keeps
  const files = tree(x.state).filter((p) => lstatSync(join(x.state, p)).isFile());
  const kept = files.filter((p) => survives(atFirstWrite, x.h.dir, join(x.state, p), true));
  const lost = files.filter((p) => !kept.includes(p));
  t.diagnostic(`kept: ${kept.join(' ')}; lost: ${lost.join(' ') || 'nothing'}`);
  assert.ok(kept.includes('in-progress.json'), `the in-progress mark would be lost (kept: ${kept.join(' ')})`);
  const snap = files.filter((p) => p.startsWith('snapshots/'));
  assert.ok(snap.some((p) => p.endsWith('/ipv4.rules')) && snap.some((p) => p.endsWith('/meta.json')), snap.join(' '));
  for (const p of snap) assert.ok(kept.includes(p), `${p} would be lost`);
  // boot with what survived: recover must find the unfinished apply and restore the snapshot
  const booted = join(x.h.dir, 'after-power-cut');
  mkdirSync(booted, { mode: 0o700 });
  for (const p of kept) {
    mkdirSync(join(booted, p, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(join(booted, p), readFileSync(join(x.state, p)), { mode: 0o600 });
  }
  const rec = await x.run(['recover'], { state: booted });
  assert.equal(rec.code, 0, rec.err + rec.out);
  assert.equal(await x.h.state(), before, 'recover on what survived restored the ruleset');
});

// ---------------------------------------------------------------------------------------
// The wall clock set back during `apply --confirm`: the real watchdog, its wall clock moved by
// libfaketime (LD_PRELOAD, reading its offset from a file the test rewrites; the monotonic
// clock left alone) — the system's own clock is never touched. It must still roll back at
// the deadline, not an hour later.

const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

test('[nft] the wall clock set back an hour during --confirm: the watchdog rolls back at the deadline all the same', { timeout: 120_000 }, async (t) => {
  if (!requireRoot(t)) return;
  if (!existsSync(FAKETIME)) return void skipOrFail(t, `libfaketime is not installed (${FAKETIME}; apt-get install libfaketime)`);
  const x = await host('nft', t);
  t.after(() => killWatchdogsOf(x.state));
  const before = await x.h.state();
  const clock = join(x.h.dir, 'clock');
  writeFileSync(clock, '+0\n');
  const env = { LD_PRELOAD: FAKETIME, FAKETIME_TIMESTAMP_FILE: clock, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
  const a = await x.run(['apply', x.file, '--confirm=4s'], { env });
  assert.equal(a.code, 0, a.err);
  const [watchdog] = watchdogsOf(x.state);
  assert.ok(watchdog, 'a watchdog is armed');
  assert.match(readFileSync(`/proc/${watchdog}/environ`, 'utf8'), /LD_PRELOAD=[^\0]*libfaketime/, 'the watchdog runs with the fake wall clock');
  writeFileSync(clock, '-3600\n'); // its wall clock: one hour back from now on
  const set = Date.now();
  await until('the rollback at the deadline', async () => (await x.h.state()) === before, 30_000).catch(() => undefined);
  assert.equal(await x.h.state(), before, `not rolled back ${Math.round((Date.now() - set) / 1000)} s after the clock went back (deadline 4 s)`);
  const entries = () => readFileSync(join(x.state, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { result: string; lagMs?: number });
  await until('the journal of the rollback', () => entries().some((e) => e.result === 'not-confirmed'));
  const last = entries().find((e) => e.result === 'not-confirmed');
  assert.ok(last);
  assert.ok(last.lagMs !== undefined && last.lagMs >= 0 && last.lagMs < 60_000, `the lag after the deadline is measured on the monotonic clock: ${last.lagMs} ms`);
});
