// The fault suite, input and command line (issue 14, items 4, 6, 7, 10 and 11; docs/faults.md).
//
// Unit-level where no kernel is involved: the tool runs as a user runs it (bin/, a child
// process), with `--netns` of a namespace that does not exist, so that nothing it does can reach
// the host's firewall. Where an apply must be shown not to happen (item 11), a throwaway network
// namespace with real iptables, nft and legacy. Every child gets a deadline and is killed with
// SIGKILL when it passes it, so that a regression (a hang on a FIFO, on stdin) fails the test
// instead of hanging the suite; each test has its own timeout too.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, fixture } from '../helpers/fixtures.js';
import { requireRoot } from '../helpers/root.js';
import { runCli } from '../../src/cli.js';
import { parseTwinArgs } from '../../src/twin-args.js';
import { UsageError } from '../../src/errors.js';
import { createNetns, deleteNetns } from '../../src/io/netns.js';
import { restore, save } from '../../src/io/iptables.js';

const BIN = join(repoRoot, 'bin', 'iptables-safe-restore');
/** A namespace that does not exist: whatever the tool tries on the firewall fails, on no host. */
const NO_NS = `isr-input-nonexistent-${process.pid}`;
const RULES = join(repoRoot, 'packaging', 'examples', 'rhel-iptables-services.rules');
const LIVE = fixture('lab', '20.10', 'default-bridge.v4.rules');
/** A ruleset whose line 2 is wrong: the error names the input that was really read. */
const BAD = '*filter\n-A NO_SUCH_CHAIN -j ACCEPT\nCOMMIT\n';

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** The tool, killed (SIGKILL) past the deadline: a hang shows as signal SIGKILL, never as a hung suite. */
function tool(args: string[], o: { cwd?: string; input?: string | number; deadlineMs?: number; prefix?: string[] } = {}): Promise<Ran> & { child: ChildProcess } {
  const cmd = o.prefix ? o.prefix[0] : process.execPath;
  const argv = [...(o.prefix ? [...o.prefix.slice(1), process.execPath] : []), BIN, ...args];
  const stdin = typeof o.input === 'number' ? o.input : o.input === undefined ? 'ignore' : 'pipe';
  const child = spawn(cmd, argv, { cwd: o.cwd, stdio: [stdin, 'pipe', 'pipe'] });
  if (typeof o.input === 'string') child.stdin!.end(o.input);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.deadlineMs ?? 15_000);
  const done = new Promise<Ran>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    }),
  );
  return Object.assign(done, { child });
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'isr-input-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Options that keep a run off the host: no namespace, a private state directory and lock. */
const offHost = (dir: string) => ['--netns', NO_NS, '--state-dir', join(dir, 'state'), '--lock-file', join(dir, 'lock'), '--docker-socket', join(dir, 'no-docker.sock')];

/** The error a run ended with: exit 1, one line on stderr (plus yargs' "Try --help" for a usage error), no trace. */
function oneLineError(r: Ran, what: RegExp, label: string): void {
  assert.equal(r.signal, null, `${label}: killed at the deadline (hung): ${r.err}`);
  assert.equal(r.code, 1, `${label}: exit ${r.code}: ${r.err}`);
  const lines = r.err.trimEnd().split('\n').filter((l) => !/^Try '.*' for more information\.$/.test(l));
  assert.equal(lines.length, 1, `${label}: one line, got: ${r.err}`);
  assert.match(lines[0], what, label);
  assert.ok(lines[0].length < 400, `${label}: a short line`);
  assert.doesNotMatch(r.err, /internal error|\n\s+at /, label);
}

/** The options a command's --help lists, with what kind of value each takes. */
function helpOptions(command: string): { takesFile: boolean; options: Array<{ name: string; kind: 'flag' | 'value' | 'list'; choice?: string }> } {
  const r = spawnSync(process.execPath, [BIN, command, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } });
  assert.equal(r.status, 0, r.stderr);
  const blocks = r.stdout.split('\n').reduce<string[]>((acc, line) => {
    if (/^ {2}(-\w, )?\s*--[\w-]+/.test(line)) acc.push(line);
    else if (acc.length && /^\s{6,}/.test(line)) acc[acc.length - 1] += ` ${line}`;
    return acc;
  }, []);
  const options = blocks.map((b) => {
    const name = /--([\w-]+)/.exec(b)![1];
    const choice = /\[choices: "([^"]+)"/.exec(b)?.[1];
    const kind = /\[array\]/.test(b) ? ('list' as const) : /\[boolean\]/.test(b) ? ('flag' as const) : ('value' as const);
    return { name, kind, choice };
  });
  return { takesFile: r.stdout.includes('\n  file '), options };
}

const COMMANDS = ['check', 'merge', 'explain', 'plan', 'apply', 'rollback', 'recover', 'confirm', 'save', 'stop', 'reconcile', 'history'];

test('4: every option that takes a value, given twice to any command, is a usage error naming it — never an internal error', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const values: Record<string, [string, string]> = {
    netns: [NO_NS, `${NO_NS}-b`], 'state-dir': [join(dir, 'a'), join(dir, 'b')], 'lock-file': [join(dir, 'la'), join(dir, 'lb')],
    confirm: ['30s', '40s'], 'docker-socket': [join(dir, 'sa'), join(dir, 'sb')],
  };
  let tried = 0;
  for (const command of COMMANDS) {
    const { takesFile, options } = helpOptions(command);
    const has = (n: string) => options.some((o) => o.name === n);
    for (const o of options.filter((x) => x.kind === 'value')) {
      const [v1, v2] = values[o.name] ?? (o.choice ? [o.choice, o.choice] : ['1', '2']);
      const rest = Object.entries(values).filter(([n]) => n !== o.name && n !== 'confirm' && has(n)).flatMap(([n, [v]]) => [`--${n}=${v}`]);
      const argv = [command, ...(takesFile ? [RULES] : []), `--${o.name}=${v1}`, `--${o.name}=${v2}`, ...rest];
      await assert.rejects(runCli(argv, { family: 'ipv4', prog: 'iptables-safe-restore' }), (e: unknown) => {
        assert.ok(e instanceof UsageError, `${argv.join(' ')}: ${(e as Error)?.stack}`);
        assert.match(e.message, new RegExp(`--${o.name}\\b.*more than once`), argv.join(' '));
        assert.doesNotMatch(e.message, /\n/);
        return true;
      }, argv.join(' '));
      tried++;
    }
  }
  assert.ok(tried >= 40, `options tried: ${tried}`);
  t.diagnostic(`${tried} options with a value, over ${COMMANDS.length} commands, each given twice`);
  // the issue's own case, end to end: exit 1 and a usage error, no stack trace
  const r = await tool(['apply', RULES, ...offHost(dir), '--state-dir=/x', '--state-dir=/x']);
  oneLineError(r, /--state-dir given more than once/, 'apply --state-dir twice');
});

test('4: the twin — its own options with a value given twice are an error; iptables-restore\'s repeat, the last counting, as iptables-restore 1.8.9 does', { timeout: 30_000 }, () => {
  const help = spawnSync(process.execPath, [BIN, '-h'], { encoding: 'utf8' }).stdout;
  // the line of the tool's own options: `--backend auto|nft|legacy --state-dir DIR … --force --quiet --confirm[=DURATION]`
  const line = help.slice(help.indexOf('      --backend'), help.indexOf("(see '"));
  const ours = [...line.matchAll(/--([\w-]+) ([^\s-]\S*)/g)].map((m) => [m[1], m[2] === 'SECONDS' ? '1' : m[2].split('|')[0]] as const);
  assert.ok(ours.length >= 8, `the twin's own options with a value, from its help: ${ours.map(([n]) => n)}`);
  for (const [name, value] of ours) {
    const argv = [`--${name}`, value, `--${name}`, value, 'rules'];
    if (name === 'preserve') {
      assert.deepEqual(parseTwinArgs(argv).preserve, [value, value], 'each --preserve adds');
      continue;
    }
    assert.throws(() => parseTwinArgs(argv), (e: unknown) => e instanceof UsageError && new RegExp(`--${name}'? given more than once`).test(e.message), argv.join(' '));
  }
  assert.throws(() => parseTwinArgs(['--confirm=30s', '--confirm=40s']), /--confirm'? given more than once/);
  // iptables-restore 1.8.9 (nft and legacy), `-T filter -T nat FILE`, restored nat only: the last -T counts
  assert.equal(parseTwinArgs(['-T', 'filter', '-T', 'nat', 'rules']).table, 'nat');
  assert.equal(parseTwinArgs(['-w', '1', '-w', '2']).wait, 2);
  assert.equal(parseTwinArgs(['-n', '-n', '--force', '--force', 'rules']).noflush, true);
});

test('4: flags may be repeated and --preserve adds: no error', { timeout: 60_000 }, async () => {
  const r = await tool(['check', RULES, '--force', '--force', '-q', '-q']);
  assert.equal(r.code, 0, r.err);
  const p = await tool(['plan', RULES, '--live-from', LIVE, '--canonical', 'lexical', '--preserve', 'fail2ban', '--preserve', 'libvirt']);
  assert.ok(p.code === 0 || p.code === 2, p.err);
});

/** A FIFO nobody writes to: opening it to read blocks, reading it never ends. */
function fifo(dir: string, name = 'rules.fifo'): string {
  const path = join(dir, name);
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, String(r.stderr));
  return path;
}

test('6: a FIFO as FILE, --plan, --live-from or --config is refused at once, in one line naming it', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t);
  const f = fifo(dir);
  const conf = join(dir, 'conf');
  writeFileSync(conf, '# nothing\n');
  const cases: Array<[string, string[]]> = [
    ['apply FIFO', ['apply', f, ...offHost(dir)]],
    ['reconcile FIFO', ['reconcile', f, ...offHost(dir)]],
    ['apply --plan FIFO', ['apply', '--plan', f, ...offHost(dir)]],
    ['plan --live-from FIFO', ['plan', RULES, '--live-from', f, '--canonical', 'lexical']],
    ['plan --config FIFO', ['plan', RULES, '--live-from', LIVE, '--config', f]],
    ['check FIFO', ['check', f]],
    ['the twin, FIFO', [...offHost(dir), f]],
  ];
  const runs = await Promise.all(cases.map(([, argv]) => tool(argv, { deadlineMs: 20_000 })));
  runs.forEach((r, i) => oneLineError(r, /rules\.fifo: not a regular file \(a FIFO\)/, cases[i][0]));
});

test('6: the FIFO is refused before the tool\'s lock is taken: with the lock held elsewhere, the answer is about the FIFO', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t);
  const f = fifo(dir);
  const lock = join(dir, 'lock');
  writeFileSync(lock, '');
  // another process holds the tool's lock (flock(1), as the README says other scripts may)
  const holder = spawn('flock', ['--exclusive', lock, 'sleep', '120'], { stdio: 'ignore' });
  t.after(() => void holder.kill('SIGKILL'));
  await until(() => spawnSync('flock', ['--nonblock', lock, 'true']).status !== 0, 10_000, 'the lock taken by the holder');
  const cases: Array<[string, string[]]> = [
    ['apply FIFO', ['apply', f, ...offHost(dir), '--lock-wait', '0']],
    ['reconcile FIFO', ['reconcile', f, ...offHost(dir), '--lock-wait', '0']],
    ['the twin, FIFO', [...offHost(dir), '--lock-wait', '0', f]],
  ];
  const runs = await Promise.all(cases.map(([, argv]) => tool(argv, { deadlineMs: 20_000 })));
  runs.forEach((r, i) => {
    assert.doesNotMatch(r.err, /holds the lock/, cases[i][0]);
    oneLineError(r, /rules\.fifo: not a regular file \(a FIFO\)/, cases[i][0]);
  });
});

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('6: stdin is read before the lock: a writer that never closes it holds up that run only, never the lock', { timeout: 90_000 }, async (t) => {
  for (const [label, argv] of [['apply (stdin)', ['apply']], ['the twin (stdin)', []]] as const) {
    const dir = tempDir(t);
    const lock = join(dir, 'lock');
    // stdin a pipe (a named one: node's own child pipes are sockets) whose writer keeps it open
    const pipe = fifo(dir, 'stdin.fifo');
    const child = spawn('bash', ['-c', 'exec "$0" "$@" < "$STDIN_FIFO"', process.execPath, BIN, ...argv, ...offHost(dir), '--lock-wait', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STDIN_FIFO: pipe },
    });
    t.after(() => void child.kill('SIGKILL'));
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    let writer = -1;
    await until(() => {
      try {
        writer = openSync(pipe, constants.O_WRONLY | constants.O_NONBLOCK); // ENXIO until the shell opened it to read
        return true;
      } catch {
        return false;
      }
    }, 10_000, 'the shell to open the pipe');
    // the process blocks reading the pipe (the kernel says so: wchan) — then the lock must be free
    await until(() => /pipe_read/.test(wchan(child.pid!)), 20_000, `${label} to block reading stdin`);
    assert.equal(spawnSync('flock', ['--nonblock', lock, 'true']).status, 0, `${label}: the tool's lock is held while stdin is awaited`);
    writeSync(writer, BAD);
    closeSync(writer);
    const code = await Promise.race([closed, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    assert.equal(code, 1, `${label}: ${err}`);
    assert.match(err, /<stdin>:2: /, `${label}: stdin was the input`);
  }
});

function wchan(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return '';
  }
}

test('7: stdin from /dev/zero stops at the ruleset limit and says so (memory capped: the old code died of it)', { timeout: 60_000 }, async () => {
  const zero = openSync('/dev/zero', 'r');
  try {
    // 800 MB of data segment at most: a run that reads /dev/zero to the end fails here instead of eating the machine
    const r = await tool(['check'], { input: zero, deadlineMs: 40_000, prefix: ['prlimit', '--data=800000000'] });
    oneLineError(r, /^iptables-safe-restore: <stdin>: larger than the \d+ MiB limit for a ruleset/, 'check < /dev/zero');
  } finally {
    closeSync(zero);
  }
});

test('7: a ruleset, --live-from, a saved plan and a configuration over their limits are refused naming the limit; max-ruleset-size raises it', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const w = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  // a sparse file of 33 MiB: over the default limit, refused without being read
  const huge = join(dir, 'huge.rules');
  writeFileSync(huge, '');
  truncateSync(huge, 33 * 2 ** 20);
  // a valid ruleset of about 6 KB
  const six = w('six.rules', `${readFileSync(RULES, 'utf8')}${'# padding to make the file larger than four kibibytes\n'.repeat(110)}`);
  const small = w('small.conf', 'max-ruleset-size = 4K\n');
  const larger = w('larger.conf', 'max-ruleset-size = 16K\n');
  const plan = w('plan.json', JSON.stringify({ padding: 'x'.repeat(17 * 1024) }));
  const bigConf = w('big.conf', '# comment\n'.repeat(7000));
  const runs = await Promise.all([
    tool(['check', huge]),
    tool(['plan', six, '--live-from', LIVE, '--config', small, '--canonical', 'lexical']),
    tool(['plan', RULES, '--live-from', six, '--config', small, '--canonical', 'lexical']),
    tool(['apply', '--plan', plan, '--config', small, ...offHost(dir)]),
    tool(['plan', RULES, '--live-from', LIVE, '--config', bigConf]),
    tool(['apply', '--plan', '/dev/zero', ...offHost(dir)]),
    tool(['plan', RULES, '--live-from', LIVE, '--config', '/dev/zero']),
    tool(['plan', six, '--live-from', LIVE, '--config', larger, '--canonical', 'lexical']),
  ]);
  oneLineError(runs[0], /huge\.rules: larger than the 32 MiB limit for a ruleset \(max-ruleset-size/, 'a 33 MiB ruleset');
  oneLineError(runs[1], /six\.rules: larger than the 4 KiB limit for a ruleset/, 'FILE over max-ruleset-size');
  oneLineError(runs[2], /six\.rules: larger than the 4 KiB limit for a ruleset/, '--live-from over max-ruleset-size');
  oneLineError(runs[3], /plan\.json: larger than the 16 KiB limit for a saved plan/, '--plan over four times max-ruleset-size');
  oneLineError(runs[4], /big\.conf: larger than the 64 KiB limit for a configuration file/, 'a 70 KB configuration');
  oneLineError(runs[5], /\/dev\/zero: not a regular file \(a character device\)/, 'apply --plan /dev/zero');
  oneLineError(runs[6], /\/dev\/zero: not a regular file \(a character device\)/, 'plan --config /dev/zero');
  assert.ok(runs[7].code === 0 || runs[7].code === 2, `max-ruleset-size = 16K reads the 6 KB file: ${runs[7].err}`);
});

test('10: - is stdin for check, plan, apply and the twin', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t);
  const text = readFileSync(RULES, 'utf8');
  const [check, plan, apply, twin] = await Promise.all([
    tool(['check', '-'], { input: text }),
    tool(['plan', '-', '--live-from', LIVE, '--canonical', 'lexical'], { input: text }),
    tool(['apply', '-', ...offHost(dir)], { input: BAD }),
    tool([...offHost(dir), '-'], { input: BAD }),
  ]);
  assert.equal(check.code, 0, check.err);
  assert.match(check.out, /^<stdin>: valid IPv4 ruleset/);
  assert.ok(plan.code === 0 || plan.code === 2, plan.err);
  assert.doesNotMatch(plan.err, /cannot read/);
  for (const [label, r] of [['apply -', apply], ['the twin, -', twin]] as const) {
    assert.equal(r.code, 1, `${label}: ${r.err}`);
    assert.match(r.err, /^<stdin>:2: /m, `${label}: stdin was read`);
  }
  const both = await tool(['apply', '-', '-', '--family', 'both', ...offHost(dir)], { input: BAD });
  oneLineError(both, /stdin \(-\) given for two inputs/, 'apply - - --family both');
});

test('10: after --, a word starting with - is a FILE, not an option and not stdin', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, '-x.rules'), BAD);
  const valid = readFileSync(RULES, 'utf8');
  const [check, plan, twin] = await Promise.all([
    tool(['check', '--', '-x.rules'], { cwd: dir, input: valid }),
    tool(['plan', '--live-from', LIVE, '--canonical', 'lexical', '--', '-x.rules'], { cwd: dir, input: valid }),
    tool([...offHost(dir), '--', '-x.rules'], { cwd: dir, input: valid }),
  ]);
  for (const [label, r] of [['check -- -x.rules', check], ['plan -- -x.rules', plan], ['the twin, -- -x.rules', twin]] as const) {
    assert.equal(r.code, 1, `${label}: ${r.err}`);
    assert.match(r.err, /^-x\.rules:2: /m, `${label}: the file -x.rules was read`);
  }
  const value = await tool(['plan', '--live-from', LIVE, '--preserve', 'fail2ban', '--', '-x.rules'], { cwd: dir });
  oneLineError(value, /--preserve takes its value before --/, 'a word after -- taken as an option value');
});

test('11: apply * next to a file named --force never takes the option: the world-writable file is not applied (real iptables, nft and legacy)', { timeout: 120_000 }, async (t) => {
  if (!requireRoot(t)) return;
  for (const backend of ['nft', 'legacy'] as const) {
    const ns = await createNetns(`input-glob-${backend}`);
    const dir = tempDir(t);
    t.after(() => deleteNetns(ns));
    const before = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 10.9.9.9/32 -j ACCEPT\nCOMMIT\n';
    await restore(before, { family: 'ipv4', backend, netns: ns.path });
    const kept = await save({ family: 'ipv4', backend, netns: ns.path });
    const work = join(dir, 'work');
    mkdirSync(work, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(work, '--force'), '');
    writeFileSync(join(work, 'rules.v4'), '*filter\n-A INPUT -s 10.6.6.6/32 -j DROP\nCOMMIT\n');
    chmodSync(join(work, 'rules.v4'), 0o666); // anyone may write it: without --force, refused
    const opts = ['--netns', ns.path, '--backend', backend, '--state-dir', join(dir, 'state'), '--lock-file', join(dir, 'lock'), '--docker-socket', join(dir, 'no.sock')];
    // the shell expands the glob, as at a prompt
    const runs = [];
    for (const glob of ['*', '-- *']) {
      const r = await tool([], { cwd: work, deadlineMs: 30_000, prefix: ['bash', '-c', `exec "$0" "$1" apply ${opts.map((o) => `'${o}'`).join(' ')} ${glob}`] });
      runs.push(r);
      assert.equal(r.code, 1, `${backend}: apply ${glob}: ${r.err}`);
      assert.match(r.err, /--force/, `${backend}: apply ${glob}: the message names the file --force`);
      assert.doesNotMatch(r.err, /^applied/m);
      assert.equal(await save({ family: 'ipv4', backend, netns: ns.path }), kept, `${backend}: apply ${glob} changed the firewall`);
    }
    assert.match(runs[0].err, /'--force' looks like an option but is also a file/, `${backend}: apply *`);
  }
});

test('11: the documented orders still work: options after the files (apply FILE FILE6 --family both), and the twin\'s FILE -n', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const v6 = fixture('lab', '20.10', 'default-bridge.v6.rules');
  const r = await tool(['apply', RULES, v6, '--family', 'both', ...offHost(dir)]);
  // parsed as meant: the run reaches the (missing) namespace, no usage error
  assert.equal(r.code, 1, r.err);
  assert.doesNotMatch(r.err, /Unknown argument|more information|looks like an option/);
  assert.match(r.err, new RegExp(NO_NS));
  const twin = parseTwinArgs([RULES, '-n', '--wait', '5']);
  assert.deepEqual([twin.file, twin.noflush, twin.wait], [RULES, true, 5]);
});
