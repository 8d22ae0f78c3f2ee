// apply against real iptables in throwaway namespaces, both backends: the transaction's
// promises — rollback across tables and families, crash recovery at every step, Docker's
// concurrent changes never lost, serialization, refusing before writing anything.
//
// The live ruleset of each namespace is a real Docker 20.10 capture (test/fixtures/lab), so
// Docker's chains and its rules in built-in chains are there to be preserved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { BIN4, setup, startDockerWriter } from '../helpers/netns-env.js';

for (const backend of ['nft', 'legacy'] as const) {
  test(`[${backend}] apply writes the file's rules, keeps Docker's, and a second apply has nothing to do`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t);
    const r = await e.cli(['apply', e.files.v4]);
    assert.equal(r.code, 0, r.err);
    const live = await e.state();
    assert.match(live, /^-A SSH -s 10\.0\.0\.0\/8 -j ACCEPT$/m);
    assert.match(live, /^-A INPUT -p tcp -m tcp --dport 22 -j SSH$/m);
    assert.match(live, /^-A FORWARD -j DOCKER-USER$/m, "Docker's jump kept");
    assert.match(live, /^-A DOCKER -d 172\.30\.4\.2\/32 ! -i isr-v6br0 -o isr-v6br0 -p tcp -m tcp --dport 80 -j ACCEPT$/m, "Docker's chain kept");
    assert.match(live, /^-A POSTROUTING -s 172\.17\.0\.0\/16 ! -o docker0 -j MASQUERADE\n-A POSTROUTING -o eth9 -j MASQUERADE\n-A POSTROUTING -s 172\.30\.4\.2\/32 -d 172\.30\.4\.2\/32/m, 'user rule between Docker\'s inserted and appended rules');
    assert.match(live, /^:INPUT DROP/m);
    assert.equal((await e.cli(['apply', e.files.v4])).code, 3);
    assert.equal((await e.cli(['plan', e.files.v4, '-q'])).code, 0);
  });

  test(`[${backend}] a failure in the second table rolls the first back: live equals the snapshot`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t);
    const before = await e.state();
    const r = await e.cli(['apply', e.files.v4], { ISR_FAULT: 'fail@before-write:ipv4:nat' });
    assert.equal(r.code, 4, r.err);
    assert.match(r.err, /FAILED and rolled back to snapshot/);
    assert.equal(await e.state(), before);
    const h = await e.cli(['history', '--json']);
    const journal = JSON.parse(h.out).journal;
    assert.equal(journal[0].result, 'rolled-back');
    const { createHash } = await import('node:crypto');
    assert.equal(journal[0].fileDigest, `sha256:${createHash('sha256').update(readFileSync(e.files.v4)).digest('hex')}`, 'the journal records the hash of the file\'s contents');
    assert.equal(JSON.parse(h.out).unfinished, null);
  });

  test(`[${backend}] --family both: IPv6 failing after IPv4 succeeded leaves both as before`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t);
    const [b4, b6] = [await e.state('ipv4'), await e.state('ipv6')];
    const r = await e.cli(['apply', e.files.v4, e.files.v6, '--family', 'both'], { ISR_FAULT: 'fail@after-write:ipv6:filter' });
    assert.equal(r.code, 4, r.err);
    assert.equal(await e.state('ipv4'), b4);
    assert.equal(await e.state('ipv6'), b6);
    const ok = await e.cli(['apply', e.files.v4, e.files.v6, '--family', 'both']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(await e.state('ipv6'), /^-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT$/m);
  });

  test(`[${backend}] SIGKILL at each step: the next run reports it, recover restores, nothing lost`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t);
    const before = await e.state();
    for (const step of ['after-snapshot', 'before-write:ipv4:filter', 'after-write:ipv4:filter', 'after-write:ipv4:nat', 'before-verify']) {
      const k = await e.cli(['apply', e.files.v4], { ISR_FAULT: `kill@${step}` });
      assert.equal(k.code, 137, `${step}: ${k.err}`);
      const p = await e.cli(['plan', e.files.v4, '-q']);
      assert.match(p.err, /warning: an apply started .* did not finish; run 'iptables-safe-restore recover'/, step);
      const refused = await e.cli(['apply', e.files.v4]);
      assert.equal(refused.code, 1, `${step}: a new apply refuses while one is unfinished`);
      const rec = await e.cli(['recover']);
      assert.equal(rec.code, 0, `${step}: ${rec.err}`);
      assert.equal(await e.state(), before, `${step}: live equals the snapshot after recover`);
      assert.equal(JSON.parse((await e.cli(['history', '--json'])).out).unfinished, null);
    }
    assert.match((await e.cli(['recover'])).out, /nothing to recover/);
  });

  test(`[${backend}] a Docker-like writer changes DOCKER, FORWARD and POSTROUTING while apply runs 50 times`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t);
    const writer = startDockerWriter(e);
    const codes: number[] = [];
    let leftRules: Array<{ table: string; line: string }> = [];
    try {
      for (let i = 0; i < 50; i++) {
        const r = await e.cli(['apply', i % 2 ? e.files.v4b : e.files.v4]);
        codes.push(r.code);
        assert.ok(r.code === 0 || r.code === 3, `apply ${i}: exit ${r.code}: ${r.err}`);
      }
    } finally {
      leftRules = await writer.stop();
    }
    // every rule the writer left is still there: none was lost to our writes
    assert.ok(leftRules.length > 0, 'the writer left rules');
    const live4 = (await e.state()).split('\n');
    for (const l of leftRules) assert.ok(live4.includes(l.line), `the writer's rule is lost: ${l.table} ${l.line}`);
    // and the user's rules are exactly the last file's
    const last = await e.cli(['plan', e.files.v4b, '-q']);
    assert.equal(last.code, 0, last.out + last.err);
    assert.ok(codes.filter((c) => c === 0).length >= 25, `applies that had work: ${codes.join(',')}`);
  });

  test(`[${backend}] two applies at once are serialized; without --lock-wait the second says who holds the lock`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t);
    const first = e.cli(['apply', e.files.v4], { ISR_FAULT: 'sleep=2500@after-snapshot' });
    // the first holds the lock once its snapshot is taken (a fixed delay loses on a loaded machine)
    for (const end = Date.now() + 20_000; !existsSync(join(e.dir, 'state', 'in-progress.json')) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 25));
    const busy = await e.cli(['apply', e.files.v4b]);
    assert.equal(busy.code, 6, busy.err);
    assert.match(busy.err, /another run holds the lock: pid \d+ \(.*apply.*\), since 20\d\d-/);
    const waited = await e.cli(['apply', e.files.v4b, '--lock-wait', '30']);
    assert.equal((await first).code, 0);
    assert.equal(waited.code, 0, waited.err);
    const journal = JSON.parse((await e.cli(['history', '--json'])).out).journal;
    assert.deepEqual(journal.slice(0, 2).map((j: { result: string; file: string }) => [j.result, j.file.endsWith('rules-b.v4')]), [['applied', true], ['applied', false]]);
    assert.equal((await e.cli(['plan', e.files.v4b, '-q'])).code, 0);
  });

  test(`[${backend}] no room for the snapshot: refuses before writing anything`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t);
    const small = join(e.dir, 'small');
    mkdirSync(small);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=4k,mode=0700', 'isr-test-small', small]);
    try {
      const before = await e.state();
      const r = await execa(process.execPath, [BIN4, 'apply', e.files.v4, '--netns', e.ns.path, '--backend', backend, '--state-dir', small, '--lock-file', join(e.dir, 'lock'), '--docker-socket', '/nonexistent/sock'], { reject: false });
      assert.equal(r.exitCode, 1, String(r.stderr));
      assert.match(String(r.stderr), /no room for the snapshot .*nothing was changed/);
      assert.equal(await e.state(), before);
    } finally {
      await execa('umount', ['-l', small], { reject: false });
    }
  });

  test(`[${backend}] a rule the kernel refuses, or a jump to a chain that would not exist: exit 1, nothing changes`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t);
    const before = await e.state();
    const bad = join(e.dir, 'bad.v4');
    writeFileSync(bad, '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m nosuchmatch --foo -j ACCEPT\nCOMMIT\n');
    const r = await e.cli(['apply', bad]);
    assert.equal(r.code, 1);
    assert.match(r.err, /bad\.v4:4: iptables refused this rule: .*nosuchmatch/);
    const dangling = join(e.dir, 'dangling.v4');
    writeFileSync(dangling, '*filter\n:MINE - [0:0]\n-A MINE -j DOCKER-GONE\nCOMMIT\n'.replace('DOCKER-GONE', 'DOCKER'));
    const d = await e.cli(['apply', dangling, '--preserve', 'fail2ban']);
    assert.ok(d.code === 0 || d.code === 1, d.err);
    assert.equal(await e.state().then((s) => s.includes('-A MINE -j DOCKER')), d.code === 0);
    if (d.code === 0) await e.cli(['rollback']);
    const after = await e.state();
    assert.equal(after.replace(/^:MINE.*\n|^-A MINE.*\n/gm, ''), before);
  });

  test(`[${backend}] a saved plan applies while live is unchanged, and is refused as stale after`, async (t) => {
    if (!requireRoot(t)) return;
    const e = await setup(backend, t);
    const planFile = join(e.dir, 'fw.plan');
    assert.equal((await e.cli(['plan', e.files.v4, '-q', '--out', planFile])).code, 2);
    const ok = await e.cli(['apply', '--plan', planFile]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal((await e.cli(['plan', e.files.v4, '-q'])).code, 0);
    const stalePlan = join(e.dir, 'stale.plan');
    await e.cli(['plan', e.files.v4b, '-q', '--out', stalePlan]);
    await execa('nsenter', [`--net=${e.ns.path}`, '--', `iptables-${backend}`, '-w', '-A', 'SSH', '-s', '198.51.100.1', '-j', 'DROP']);
    const stale = await e.cli(['apply', '--plan', stalePlan]);
    assert.equal(stale.code, 1);
    assert.match(stale.err, /stale: the live ruleset changed since the plan was made/);
  });
}
