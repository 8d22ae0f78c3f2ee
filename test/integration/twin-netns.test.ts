// The iptables-restore twin and the service verbs (save, stop, reconcile) against real
// iptables, nft and legacy, in throwaway namespaces holding a real Docker 20.10 capture.
// Docker's part is checked against the capture itself (never against the tool's own idea of
// ownership): every Docker chain and rule must survive, and the rules that are not Docker's
// must be exactly the file's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRuleset } from '../../src/core/parse.js';
import type { Ruleset, TableName } from '../../src/core/model.js';
import { requireRoot } from '../helpers/root.js';
import { repoRoot } from '../helpers/fixtures.js';
import { assertDockerKept } from '../helpers/lab-apply.js';
import { BIN, DOCKER_LIVE, dockerHost, type Host } from '../helpers/netns-host.js';

const USER4 = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SSH - [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j SSH
-A FORWARD -s 203.0.113.0/24 -j DROP
-A SSH -s 10.0.0.0/8 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth9 -j MASQUERADE
COMMIT
`;

const parse = (text: string): Ruleset => parseRuleset(text, { file: 'live', family: 'ipv4', trusted: true }).ruleset;
const DOCKER = parse(DOCKER_LIVE.ipv4);

/** The rules of a chain that are not Docker's (the capture's rules of that chain taken out once each), in order. */
function mine(state: string, table: TableName, chain: string): string[] {
  const left = [...(DOCKER.tables.get(table)?.chains.get(chain)?.rules.map((r) => r.text) ?? [])];
  const rules = parse(state).tables.get(table)?.chains.get(chain)?.rules.map((r) => r.text) ?? [];
  return rules.filter((r) => {
    const i = left.indexOf(r);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

/** The user chains of a state that Docker did not have. */
const myChains = (state: string, table: TableName) =>
  [...(parse(state).tables.get(table)?.chains.values() ?? [])].filter((c) => !c.builtin && !DOCKER.tables.get(table)?.chains.has(c.name)).map((c) => c.name);

const policy = (state: string, table: TableName, chain: string) => parse(state).tables.get(table)?.chains.get(chain)?.policy;

/** Docker's chains and rules all there, and the user's part exactly USER4's. */
async function assertUser4(h: Host, what: string, docker = DOCKER): Promise<void> {
  const s = await h.state();
  assertDockerKept(docker, parse(s), what);
  assert.deepEqual(mine(s, 'filter', 'INPUT'), ['-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-i lo -j ACCEPT', '-p tcp -m tcp --dport 22 -j SSH'], `${what}: INPUT`);
  assert.deepEqual(mine(s, 'filter', 'FORWARD'), ['-s 203.0.113.0/24 -j DROP'], `${what}: FORWARD`);
  assert.deepEqual(myChains(s, 'filter'), ['SSH'], `${what}: user chains`);
  assert.deepEqual(mine(s, 'filter', 'SSH'), ['-s 10.0.0.0/8 -j ACCEPT'], `${what}: SSH`);
  assert.deepEqual(mine(s, 'nat', 'POSTROUTING'), ['-o eth9 -j MASQUERADE'], `${what}: nat POSTROUTING`);
  assert.equal(policy(s, 'filter', 'INPUT'), 'DROP', `${what}: INPUT policy`);
}

for (const backend of ['nft', 'legacy'] as const) {
  test(`[${backend}] twin: restoring a file saved while Docker ran keeps Docker's live chains and rules, the user's are the file's; silent`, async (t) => {
    if (!requireRoot(t)) return;
    const h = await dockerHost(backend, t, 'twintest');
    const stale = h.file('stale.rules', readFileSync(join(repoRoot, 'packaging', 'examples', 'rhel-saved-on-docker-host.rules'), 'utf8'));
    const r = await h.tool([stale]);
    assert.deepEqual(r, { code: 0, out: '', err: '' }, 'silent on success, like iptables-restore');
    const s = await h.state();
    assertDockerKept(DOCKER, parse(s), 'after the twin');
    assert.doesNotMatch(s, /172\.17\.0\.77|--dport 8090/, "the stale Docker rules of the file (a gone container) are not restored");
    assert.deepEqual(mine(s, 'filter', 'INPUT'), [
      '-m state --state RELATED,ESTABLISHED -j ACCEPT', '-p icmp -j ACCEPT', '-i lo -j ACCEPT', '-p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT',
      '-j REJECT --reject-with icmp-host-prohibited',
    ]);
    assert.deepEqual(mine(s, 'filter', 'FORWARD'), ['-j REJECT --reject-with icmp-host-prohibited']);
    assert.equal(parse(s).tables.get('filter')!.chains.get('FORWARD')!.rules.at(-1)!.text, '-j REJECT --reject-with icmp-host-prohibited', "the user's REJECT after Docker's FORWARD rules");
    assert.deepEqual(myChains(s, 'filter'), []);
    assert.deepEqual(mine(s, 'nat', 'POSTROUTING'), []);
    assert.deepEqual(await h.tool([stale]), { code: 0, out: '', err: '' }, 'nothing to do is success too');
    assert.equal((await h.tool(['plan', stale, '-q'], { tx: false })).code, 0);
    // stdin and '-' and -v
    const u = h.file('user.rules', USER4);
    const viaStdin = await h.tool([], { input: USER4 });
    assert.equal(viaStdin.code, 0, viaStdin.err);
    await assertUser4(h, 'restored from stdin');
    const verbose = await h.tool(['-v', '-', '--lock-wait', '5'], { input: readFileSync(stale, 'utf8') });
    assert.equal(verbose.code, 0, verbose.err);
    assert.match(verbose.out, /^applied: ipv4: .*\(snapshot /m, '-v says what was done');
    assert.equal((await h.tool([u])).code, 0);
    await assertUser4(h, 'restored from a file');
  });

  test(`[${backend}] twin -n: the file's commands act on the live rules as with --noflush; what the user does not own is never removed`, async (t) => {
    if (!requireRoot(t)) return;
    const h = await dockerHost(backend, t, 'twintest');
    assert.equal((await h.tool([h.file('user.rules', USER4)])).code, 0);
    const add = h.file('add.rules', [
      '*filter', ':SSH - [0:0]', '-A SSH -s 192.0.2.0/24 -j ACCEPT', '-A INPUT -s 198.51.100.7/32 -j DROP', '-I INPUT 2 -s 198.51.100.8/32 -j DROP',
      '-D FORWARD -j DOCKER-USER', '-F DOCKER', 'COMMIT', '*nat', '-F POSTROUTING', 'COMMIT', '',
    ].join('\n'));
    const r = await h.tool(['-n', add]);
    assert.deepEqual(r, { code: 0, out: '', err: '' });
    const s = await h.state();
    assertDockerKept(DOCKER, parse(s), 'after -n');
    assert.deepEqual(mine(s, 'filter', 'INPUT'), [
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-s 198.51.100.8/32 -j DROP', '-i lo -j ACCEPT', '-p tcp -m tcp --dport 22 -j SSH', '-s 198.51.100.7/32 -j DROP',
    ], 'appended to, and inserted at position 2 of, the live INPUT');
    assert.deepEqual(mine(s, 'filter', 'SSH'), ['-s 192.0.2.0/24 -j ACCEPT'], 'declaring an existing user chain flushes it, as --noflush does');
    assert.deepEqual(mine(s, 'filter', 'FORWARD'), ['-s 203.0.113.0/24 -j DROP'], "FORWARD: the user's rule stays (nothing said to remove it)");
    assert.deepEqual(mine(s, 'nat', 'POSTROUTING'), [], "-F POSTROUTING empties the user's part of it; Docker's stays (checked above)");
    assert.equal(policy(s, 'filter', 'INPUT'), 'DROP');
  });

  test(`[${backend}] twin -t changes nothing (valid: 0; refused by iptables: 1 with FILE:LINE); -T restores one table`, async (t) => {
    if (!requireRoot(t)) return;
    const h = await dockerHost(backend, t, 'twintest');
    const u = h.file('user.rules', USER4);
    const before = await h.state();
    const filterBefore = await h.state({ table: 'filter' });
    const ok = await h.tool(['-t', u]);
    assert.deepEqual(ok, { code: 0, out: '', err: '' });
    const tv = await h.tool(['--test', '-v', u]);
    assert.match(tv.out, /: valid; would change ipv4: filter: created SSH/);
    const refused = h.file('refused.rules', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m nosuchmatch --foo -j ACCEPT\nCOMMIT\n');
    const r = await h.tool(['-t', refused]);
    assert.equal(r.code, 1);
    assert.match(r.err, /refused\.rules:4: iptables refused this rule: .*nosuchmatch/);
    assert.equal(await h.state(), before, '-t changed nothing');
    assert.deepEqual(await h.tool(['-T', 'nat', u]), { code: 0, out: '', err: '' });
    const s = await h.state();
    assert.deepEqual(mine(s, 'nat', 'POSTROUTING'), ['-o eth9 -j MASQUERADE'], 'nat restored');
    assert.equal(await h.state({ table: 'filter' }), filterBefore, 'filter untouched');
    assert.deepEqual(await h.tool(['-T', 'raw', u]), { code: 0, out: '', err: '' }, 'a table the file does not name: nothing to do');
  });

  test(`[${backend}] twin: bad input exits 1 with FILE:LINE: reason and changes nothing; -c restores the file's counters`, async (t) => {
    if (!requireRoot(t)) return;
    const h = await dockerHost(backend, t, 'twintest');
    const before = await h.state();
    const bad = h.file('bad.rules', '*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -j SSH_IN\nCOMMIT\n');
    const r = await h.tool([bad]);
    assert.deepEqual(r, { code: 1, out: '', err: `${bad}:4: jump to 'SSH_IN': no such chain in table 'filter' and not a standard target or target extension\n` });
    const viaStdin = await h.tool(['-'], { input: '*filter\n-A INPUT -j ACCEPT\n' });
    assert.equal(viaStdin.code, 1);
    assert.match(viaStdin.err, /^<stdin>:2: table 'filter' opened at line 1 has no COMMIT$/m);
    assert.equal(await h.state(), before);
    for (const empty of ['', '# Generated by ip6tables-save on a host without IPv6 rules\n']) {
      assert.deepEqual(await h.tool([h.file('empty.rules', empty)]), { code: 0, out: '', err: '' }, 'an empty input does nothing, as with iptables-restore');
      assert.deepEqual(await h.tool(['reconcile', join(h.dir, 'empty.rules')]), { code: 0, out: '', err: '' });
    }
    assert.equal(await h.state(), before);
    const withCounters = h.file('counters.rules', '*filter\n:INPUT ACCEPT [0:0]\n[5:600] -A INPUT -s 192.0.2.77/32 -j ACCEPT\n[7:800] -A INPUT -s 192.0.2.78/32 -j ACCEPT\nCOMMIT\n');
    assert.equal((await h.tool(['-c', withCounters])).code, 0);
    const s = await h.state({ counters: true });
    assert.match(s, /^\[5:600\] -A INPUT -s 192\.0\.2\.77\/32 -j ACCEPT$/m);
    assert.match(s, /^\[7:800\] -A INPUT -s 192\.0\.2\.78\/32 -j ACCEPT$/m);
    const without = h.file('nocounters.rules', readFileSync(withCounters, 'utf8').replace('192.0.2.78', '192.0.2.79'));
    assert.equal((await h.tool([without])).code, 0);
    assert.match(await h.state({ counters: true }), /^\[0:0\] -A INPUT -s 192\.0\.2\.79\/32 -j ACCEPT$/m, 'without -c the counters start at 0');
  });

  test(`[${backend}] a shell script calling iptables-restore works unchanged when PATH points iptables-restore at the twin`, async (t) => {
    if (!requireRoot(t)) return;
    const h = await dockerHost(backend, t, 'twintest');
    const wrappers = join(h.dir, 'bin');
    mkdirSync(wrappers);
    // what a user puts first in PATH: iptables-restore is the twin, with this host's options after the script's
    const wrapper = join(wrappers, 'iptables-restore');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN.ipv4)} "$@" ${h.hostOptions(true).map((o) => JSON.stringify(o)).join(' ')}\n`, { mode: 0o755 });
    const u = h.file('user.rules', USER4);
    const bad = h.file('bad.rules', '*filter\n-A INPUT -j NOWHERE\nCOMMIT\n');
    const script = h.file('firewall.sh', [
      '#!/bin/sh',
      'set -u',
      'iptables-restore --test "$1" || exit 11',
      'iptables-restore -w 5 < "$1" || exit 12',
      'iptables-restore "$2" 2>/dev/null',
      'if [ $? -ne 0 ]; then echo "bad file refused"; else exit 13; fi',
      "printf '*filter\\n-A INPUT -s 198.51.100.9/32 -j DROP\\nCOMMIT\\n' | iptables-restore --noflush || exit 14",
      'echo done',
      '',
    ].join('\n'));
    const r = await execa('sh', [script, u, bad], { reject: false, env: { PATH: `${wrappers}:${process.env.PATH}` } });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout, 'bad file refused\ndone');
    const s = await h.state();
    assertDockerKept(DOCKER, parse(s), 'after the script');
    assert.deepEqual(mine(s, 'filter', 'INPUT').slice(-1), ['-s 198.51.100.9/32 -j DROP']);
    assert.deepEqual(mine(s, 'filter', 'SSH'), ['-s 10.0.0.0/8 -j ACCEPT']);
  });

  test(`[${backend}] save: no Docker chains or rules, iptables-save's format; restoring it changes nothing; --out atomic, 0600, .save kept, no symlinks`, async (t) => {
    if (!requireRoot(t)) return;
    const h = await dockerHost(backend, t, 'twintest');
    assert.equal((await h.tool([h.file('user.rules', USER4)])).code, 0);
    const saved = await h.tool(['save'], { tx: false });
    assert.equal(saved.code, 0, saved.err);
    assert.doesNotMatch(saved.out, /DOCKER|docker0|isr-v6br0|172\.30\.4|DNAT/, "nothing of Docker's");
    assert.match(saved.out, /^# Generated by iptables-safe-restore v[\d.]+ save \(from iptables-\w+-save\) on \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n\*(filter|nat)\n/);
    assert.match(saved.out, /^-A SSH -s 10\.0\.0\.0\/8 -j ACCEPT$/m);
    assert.match(saved.out, /^:INPUT DROP \[\d+:\d+\]$/m);
    assert.match(saved.err, /left out 5 chains and \d+ rules owned by docker/);
    const before = await h.state();
    const out = join(h.dir, 'etc', 'iptables');
    mkdirSync(join(h.dir, 'etc'), { mode: 0o755 });
    assert.equal((await h.tool(['save', '--out', out], { tx: false })).code, 0);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(existsSync(`${out}.save`), false, 'no previous file, no .save');
    const first = readFileSync(out, 'utf8');
    // the round trip: restoring what was saved changes nothing
    const again = await h.tool([out]);
    assert.deepEqual(again, { code: 0, out: '', err: '' });
    assert.equal(await h.state(), before);
    assert.equal((await h.tool(['plan', out, '-q'], { tx: false })).code, 0, 'plan of the saved file: no changes');
    // a second save keeps the first as .save
    await h.ipt(['-A', 'SSH', '-s', '192.0.2.5/32', '-j', 'ACCEPT']);
    assert.equal((await h.tool(['save', '--out', out], { tx: false })).code, 0);
    assert.equal(readFileSync(`${out}.save`, 'utf8'), first);
    assert.equal(statSync(`${out}.save`).mode & 0o777, 0o600);
    assert.match(readFileSync(out, 'utf8'), /^-A SSH -s 192\.0\.2\.5\/32 -j ACCEPT$/m);
    assert.deepEqual(readdirSync(join(h.dir, 'etc')).sort(), ['iptables', 'iptables.save'], 'no temporary file left behind');
    // a symlink at FILE is refused and its target left alone
    const victim = h.file('victim', 'precious\n');
    const link = join(h.dir, 'etc', 'linked');
    symlinkSync(victim, link);
    const refused = await h.tool(['save', '--out', link], { tx: false });
    assert.equal(refused.code, 1);
    assert.match(refused.err, new RegExp(`^iptables-safe-restore: ${link} is a symbolic link: refusing to write through it \\(remove the link, or name the file it points to\\)$`, 'm'));
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    const natOnly = await h.tool(['save', '-t', 'nat'], { tx: false });
    assert.match(natOnly.out, /^\*nat\n[\s\S]*^-A POSTROUTING -o eth9 -j MASQUERADE\nCOMMIT\n/m);
    assert.doesNotMatch(natOnly.out, /\*filter/);
    const withCounters = await h.tool(['save', '-c'], { tx: false });
    assert.match(withCounters.out, /^\[\d+:\d+\] -A SSH -s 10\.0\.0\.0\/8 -j ACCEPT$/m);
  });

  test(`[${backend}] stop: policies ACCEPT, the user's rules and chains gone, Docker's kept; then the twin starts it again`, async (t) => {
    if (!requireRoot(t)) return;
    const h = await dockerHost(backend, t, 'twintest');
    const u = h.file('user.rules', USER4);
    assert.equal((await h.tool([u])).code, 0);
    await h.ipt(['-I', 'DOCKER-USER', '-s', '203.0.113.9/32', '-j', 'DROP']);
    const r = await h.tool(['stop']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^stopped: ipv4: .*snapshot/);
    const s = await h.state();
    // Docker's, with the rule the user put in DOCKER-USER
    const docker = parse(DOCKER_LIVE.ipv4.replace('-A DOCKER-USER -j RETURN', '-A DOCKER-USER -s 203.0.113.9/32 -j DROP\n-A DOCKER-USER -j RETURN'));
    assertDockerKept(docker, parse(s), 'after stop');
    for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) {
      assert.deepEqual(mine(s, 'filter', chain), [], `filter ${chain} holds none of the user's rules`);
      assert.equal(policy(s, 'filter', chain), 'ACCEPT', `filter ${chain} policy`);
    }
    assert.deepEqual(myChains(s, 'filter'), [], "the user's chains are deleted");
    assert.deepEqual(mine(s, 'nat', 'POSTROUTING'), []);
    assert.deepEqual(mine(s, 'filter', 'DOCKER-USER'), ['-s 203.0.113.9/32 -j DROP'], 'DOCKER-USER keeps its contents');
    const again = await h.tool(['stop']);
    assert.equal(again.code, 0);
    assert.match(again.out, /^already stopped/);
    const ipv6 = await h.tool(['stop', '-t', 'filter'], { family: 'ipv6' });
    assert.equal(ipv6.code, 0, ipv6.err);
    assert.deepEqual(await h.tool([u]), { code: 0, out: '', err: '' }, 'start again');
    await assertUser4(h, 'after stop, then start', docker);
  });

  test(`[${backend}] reconcile: silent exit 0 in sync; drift repaired with one line, exit 7; lock held: quiet exit 6; failure: 4`, async (t) => {
    if (!requireRoot(t)) return;
    const h = await dockerHost(backend, t, 'twintest');
    const u = h.file('user.rules', USER4);
    assert.equal((await h.tool([u])).code, 0);
    assert.deepEqual(await h.tool(['reconcile', u]), { code: 0, out: '', err: '' });
    await h.ipt(['-I', 'INPUT', '1', '-j', 'ACCEPT']);
    await h.ipt(['-D', 'SSH', '-s', '10.0.0.0/8', '-j', 'ACCEPT']);
    const fixed = await h.tool(['reconcile', u]);
    assert.equal(fixed.code, 7, fixed.err);
    assert.equal(fixed.err, '');
    assert.match(fixed.out, new RegExp(`^repaired: the live ruleset had drifted from ${u.replace(/[.]/g, '\\.')}: ipv4: filter: edited INPUT,SSH \\(snapshot \\S+\\)\\n$`));
    await assertUser4(h, 'after reconcile');
    assert.deepEqual(await h.tool(['reconcile', u]), { code: 0, out: '', err: '' });
    // another run holds the lock
    // held by flock(1) running cat: closing cat's stdin ends both, and the lock with them
    const holder = execa('flock', ['--exclusive', join(h.dir, 'lock'), 'cat'], { reject: false, stdin: 'pipe' });
    try {
      await waitFor(async () => (await execa('flock', ['--nonblock', join(h.dir, 'lock'), 'true'], { reject: false })).exitCode !== 0);
      await h.ipt(['-A', 'INPUT', '-j', 'ACCEPT']);
      assert.deepEqual(await h.tool(['reconcile', u]), { code: 6, out: '', err: '' }, 'quiet when another run holds the lock');
      const v = await h.tool(['reconcile', u, '--verbose']);
      assert.equal(v.code, 6);
      assert.match(v.err, /the lock is held by another process/, 'flock(1) from a script: which process cannot be told');
    } finally {
      holder.stdin?.end();
      await holder;
    }
    const failed = await h.tool(['reconcile', u], { env: { ISR_FAULT: 'fail@after-write:ipv4:filter' } });
    assert.equal(failed.code, 4, failed.err);
    assert.match(failed.err, /FAILED and rolled back/);
    assert.match(await h.state(), /^-A INPUT -j ACCEPT$/m, 'rolled back: the drift is still there');
    assert.equal((await h.tool(['reconcile', u])).code, 7);
    const journal = JSON.parse((await execa(process.execPath, [BIN.ipv4, 'history', '--json', '--state-dir', join(h.dir, 'state')])).stdout).journal as Array<{ result: string }>;
    assert.deepEqual(journal.map((j) => j.result).filter((x) => x === 'nothing-to-do'), [], 'in-sync reconciles leave no journal entry');
  });

  test(`[${backend}] ownership: a file others can write is refused (exit 1, nothing changed); --force warns and goes on`, async (t) => {
    if (!requireRoot(t)) return;
    const h = await dockerHost(backend, t, 'twintest');
    const u = h.file('user.rules', USER4);
    chmodSync(u, 0o666);
    const before = await h.state();
    const why = `${u}: refusing to read it: writable by every user; anyone who can write it controls your firewall (make it root's and not group/world-writable, or give --force)`;
    for (const args of [[u], ['apply', u], ['reconcile', u]]) {
      const r = await h.tool(args);
      assert.deepEqual(r, { code: 1, out: '', err: `iptables-safe-restore: ${why}\n` }, args.join(' '));
    }
    assert.equal((await h.tool(['plan', u], { tx: false })).code, 1);
    assert.equal(await h.state(), before);
    const forced = await h.tool([u, '--force']);
    assert.equal(forced.code, 0);
    assert.match(forced.err, /warning: .*user\.rules: writable by every user; anyone who can write it controls your firewall/);
    await assertUser4(h, 'forced');
  });
}

async function waitFor(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
