// Issue 6 acceptance, in the Docker lab: `apply` of a stock RHEL ruleset on a real Docker host keeps
// Docker working, enforces the user's rules, and leaves the same kernel state as "plain restore, then
// restart dockerd" would (the oracle), also while containers and networks come and go.
//
// For every engine (20.10, 26, 28) × every lab scenario (default-bridge, user-bridge, internal, noicc,
// ipv6, noproxy), in a lab instance of this process's own ("apply-PID") brought up with live-restore:
//  1. Before: the published port answers from the client namespace (internal: the container answers from the
//     lab host namespace), and so does an extra port (EXTRA_PORT, busybox httpd in the lab host namespace)
//     that the RHEL file does not open: nothing else in the lab rejects it.
//     `iptables-safe-restore apply` of test/fixtures/rhel-iptables-services.rules and
//     `ip6tables-safe-restore apply` of rhel-ip6tables-services.rules (both in every scenario) exit 0.
//     After: the published port still answers (IPv4, and IPv6 in `ipv6`); internal: the container still
//     answers from the host namespace; every Docker chain and every Docker rule of the built-in chains is still
//     there (v4 and v6); the extra port is refused from the client by the RHEL REJECT (an ICMP error at once,
//     not a timeout) while it still answers on the host's loopback; `plan` exits 0; a second apply exits 3.
//  2. Oracle, produced fresh in the same lab (not the committed captures: the same run, same container
//     addresses, same engine build): `apply` of test/fixtures/oracle/probe.v{4,6}.rules, dump (ours); then
//     plain iptables-restore/ip6tables-restore of the probe, `docker-lab restart-daemon` (live-restore, the
//     container keeps running), wait until the rules settle, dump (the oracle). Compared with the rules of
//     test/unit/merge-oracle.test.ts: same chains, the user's block exact, Docker's rules above/below it and
//     Docker's chains as multisets; intentional differences: DOCKER-USER kept on 20.10/26 (the restarted
//     engine does not recreate it), policies from the file.
// Churn (engines in ISR_LAB_CHURN_ENGINES, default "28,20.10"; default-bridge): 16 applies alternating
// between the RHEL file and a variant with one more INPUT rule (so each has work to do, exit 0 every time)
// while containers with published ports are started and removed and a network (with a published container)
// is created and removed; meanwhile the lab's first container (isr-web, port 18080) is fetched from the client
// over and over and must answer every time (the writes are atomic: no moment without Docker's FORWARD rules);
// afterwards every running container's published port answers from the client and `plan` exits 0.
//
// ISR_LAB_APPLY_BREAK=plain-restore (plain iptables-restore instead of the tool) or =noop (apply writes
// nothing, exit 0) sabotages the tool on purpose (test/helpers/lab-apply.ts): every case here must then fail.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requireRoot, skipOrFail } from '../helpers/root.js';
import { ENGINES, SCENARIOS, Lab, fetchedEngines, fixture, type Engine, type Scenario, type RunResult } from '../helpers/lab.js';
import {
  APPLIED, NOTHING_TO_DO, apply, assertDockerKept, compareWithOracle, parse, plan, said, save, settle, type ToolContext,
} from '../helpers/lab-apply.js';
import type { Family } from '../../src/core/model.js';

// An instance of this process's own: the machine may run the lab suite twice at once (two checkouts or
// sessions), and `docker-lab up` first tears down whatever runs under the same instance name.
const lab = new Lab(`apply-${process.pid}`);
const RHEL: Record<Family, string> = { ipv4: fixture('rhel-iptables-services.rules'), ipv6: fixture('rhel-ip6tables-services.rules') };
const PROBE: Record<Family, string> = { ipv4: fixture('oracle', 'probe.v4.rules'), ipv6: fixture('oracle', 'probe.v6.rules') };
const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const EXTRA_PORT = 18081;
const EXTRA_BODY = `isr-lab ok: extra port ${EXTRA_PORT}, not opened by the RHEL file`;
const CHURN_ENGINES = (process.env.ISR_LAB_CHURN_ENGINES ?? '28,20.10').split(',').map((s) => s.trim()).filter(Boolean);
const CHURN_APPLIES = 16;
const timings: string[] = [];

after(async () => {
  // Also after a failure or a crash half-way: nothing of the lab may outlive the test file.
  if (process.getuid?.() === 0) await lab.down();
  if (timings.length) console.log(`# apply.test timings:\n${timings.map((l) => `#   ${l}`).join('\n')}`);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET until it answers (ok) or `seconds` run out; the last result. */
async function answers(from: 'client' | 'host', url: string, seconds = 5): Promise<RunResult & { ok: boolean }> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const r = await lab.httpGet(from, url);
    if (r.ok || Date.now() >= end) return r;
    await sleep(250);
  }
}

const got = (r: RunResult & { ok?: boolean }) => `exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}: ${(r.stdout + r.stderr).trim().slice(0, 300)}`;

/** The refusal the RHEL files' REJECT gives a TCP client: an ICMP error at once (not a drop, not a RST). */
function assertRejected(r: RunResult & { ok: boolean }, family: Family, what: string): void {
  assert.equal(r.ok, false, `${what}: must NOT answer (${got(r)})`);
  assert.equal(r.timedOut, false, `${what}: refused at once by the REJECT, not silently dropped`);
  const want = family === 'ipv4' ? /No route to host|Host is unreachable/i : /Permission denied|No route to host|unreachable/i;
  assert.match(r.stderr, want, `${what}: the ICMP${family === 'ipv6' ? 'v6' : ''} error of the RHEL REJECT (${got(r)})`);
}

test('apply in the lab: every engine × scenario keeps Docker working, enforces the file, equals the oracle', { timeout: 3_600_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const fetched = await fetchedEngines();
  for (const engine of ENGINES) {
    for (const scenario of SCENARIOS) {
      await t.test(`engine ${engine} ${scenario}`, { timeout: 300_000 }, async (t) => {
        if (!fetched.includes(engine)) {
          skipOrFail(t, `engine ${engine} is not fetched (run scripts/lab-setup or scripts/docker-lab fetch ${engine})`);
          return;
        }
        await oneCase(t, engine, scenario);
      });
    }
  }
});

async function oneCase(t: TestContext, engine: Engine, scenario: Scenario): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'isr-lab-apply-'));
  const ctx: ToolContext = { lab, stateDir: join(dir, 'state'), lockFile: join(dir, 'lock') };
  let extra: ReturnType<Lab['background']> | undefined;
  let down: RunResult | undefined;
  try {
    const env = await lab.up(engine, scenario, { liveRestore: true });
    assert.equal(env.STATUS, 'ready');
    assert.equal(env.LIVE_RESTORE, 'yes');
    const published = env.PUBLISHED === 'yes';
    assert.equal(published, scenario !== 'internal', 'only the internal scenario publishes nothing');
    const v4url = `http://${env.HOST_IP}:${env.PORT}/`;
    const v6url = `http://[${env.HOST_IP6}]:${env.PORT}/`;
    const ctrUrl = `http://${env.CONTAINER_IP}/`;
    const extraUrl: Record<Family, string> = {
      ipv4: `http://${env.HOST_IP}:${EXTRA_PORT}/`,
      ipv6: `http://[${env.HOST_IP6}]:${EXTRA_PORT}/`,
    };

    /** What Docker must keep serving: the published port (v4; v6 too in ipv6), or the internal container. */
    const dockerWorks = async (when: string) => {
      if (published) {
        const r = await answers('client', v4url);
        assert.ok(r.ok, `${when}: the published port ${v4url} answers from the client (${got(r)})`);
        if (scenario === 'ipv6') {
          const r6 = await answers('client', v6url);
          assert.ok(r6.ok, `${when}: the published port ${v6url} answers from the client over IPv6 (${got(r6)})`);
        }
      } else {
        const r = await answers('host', ctrUrl);
        assert.ok(r.ok, `${when}: the internal container ${ctrUrl} answers from the lab host namespace (${got(r)})`);
      }
    };

    // A listener on a port the RHEL files do not open, in the lab host namespace (IPv4 and IPv6).
    const www = join(dir, 'www');
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), `${EXTRA_BODY}\n`);
    extra = lab.background(['busybox', 'httpd', '-f', '-p', String(EXTRA_PORT), '-h', www]);
    const local = await answers('host', `http://127.0.0.1:${EXTRA_PORT}/`);
    assert.ok(local.ok && local.stdout.includes(EXTRA_BODY), `the extra listener answers on the host's loopback (${got(local)})`);

    // 1. Before.
    await dockerWorks('before');
    for (const f of FAMILIES) {
      const r = await answers('client', extraUrl[f]);
      assert.ok(r.ok && r.stdout.includes(EXTRA_BODY), `before: ${extraUrl[f]} answers from the client (nothing rejects it yet) (${got(r)})`);
    }
    const before: Record<Family, ReturnType<typeof parse>> = {
      ipv4: parse(await save(lab, 'ipv4'), 'ipv4', 'before.v4'),
      ipv6: parse(await save(lab, 'ipv6'), 'ipv6', 'before.v6'),
    };

    // The operator's step, with the tool.
    for (const f of FAMILIES) {
      const r = await apply(ctx, f, RHEL[f]);
      assert.equal(r.exitCode, APPLIED, `apply ${f} of ${RHEL[f]}: ${said(r)}`);
    }

    // After: Docker still works and kept everything; the file is enforced.
    await dockerWorks('after apply');
    for (const f of FAMILIES) {
      assertDockerKept(before[f], parse(await save(lab, f), f, `after.${f}`), `after apply (${f})`);
    }
    for (const f of FAMILIES) {
      assertRejected(await lab.httpGet('client', extraUrl[f]), f, `after apply: ${extraUrl[f]} from the client`);
    }
    const stillLocal = await lab.httpGet('host', `http://127.0.0.1:${EXTRA_PORT}/`);
    assert.ok(stillLocal.ok, `after apply: the extra listener still answers on the host's loopback (-i lo -j ACCEPT) (${got(stillLocal)})`);
    for (const f of FAMILIES) {
      const p = await plan(ctx, f, RHEL[f]);
      assert.equal(p.exitCode, 0, `plan ${f} after apply: the live ruleset matches the target: ${said(p)}`);
      const again = await apply(ctx, f, RHEL[f]);
      assert.equal(again.exitCode, NOTHING_TO_DO, `apply ${f} again: nothing to do: ${said(again)}`);
    }

    // 2. Oracle.
    const ours: Record<Family, string> = { ipv4: '', ipv6: '' };
    for (const f of FAMILIES) {
      const r = await apply(ctx, f, PROBE[f]);
      assert.equal(r.exitCode, APPLIED, `apply ${f} of the probe ${PROBE[f]}: ${said(r)}`);
    }
    await dockerWorks('after apply of the probe');
    for (const f of FAMILIES) ours[f] = await save(lab, f);
    for (const f of FAMILIES) {
      const r = await lab.exec([f === 'ipv4' ? 'iptables-restore' : 'ip6tables-restore', PROBE[f]]);
      assert.equal(r.exitCode, 0, `oracle: plain restore ${f} of the probe: ${r.stderr}`);
    }
    const restart = await lab.restartDaemon();
    assert.equal(restart.exitCode, 0, `oracle: docker-lab restart-daemon (exit ${restart.exitCode}): ${restart.stderr.slice(-2000)}`);
    const oracle = await settle(lab);
    assert.ok(oracle.settled, 'oracle: the rules settled after the restart');
    const notes: string[] = [];
    for (const f of FAMILIES) {
      notes.push(...compareWithOracle({
        engine,
        label: `${engine} ${scenario} ${f}`,
        probe: parse(readFileSync(PROBE[f], 'utf8'), f, 'probe'),
        ours: parse(ours[f], f, 'ours'),
        oracle: parse(f === 'ipv4' ? oracle.v4 : oracle.v6, f, 'oracle'),
        before: before[f],
      }));
    }
    for (const n of notes) t.diagnostic(`intentional difference: ${n}`);
  } finally {
    if (extra) {
      extra.kill('SIGTERM');
      await extra;
    }
    down = await lab.down();
    rmSync(dir, { recursive: true, force: true });
    const s = ((Date.now() - started) / 1000).toFixed(1);
    t.diagnostic(`${engine} ${scenario}: ${s} s including up and down`);
    timings.push(`${engine} ${scenario}: ${s} s`);
  }
  assert.equal(down.exitCode, 0, `docker-lab down ${lab.instance}: ${down.stderr}`);
}

test('apply in the lab under churn: containers and networks come and go while apply runs', { timeout: 1_200_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const fetched = await fetchedEngines();
  for (const engine of CHURN_ENGINES) {
    await t.test(`engine ${engine} default-bridge, ${CHURN_APPLIES} applies under churn`, { timeout: 400_000 }, async (t) => {
      if (!(ENGINES as readonly string[]).includes(engine)) assert.fail(`ISR_LAB_CHURN_ENGINES: unknown engine ${engine}`);
      if (!fetched.includes(engine as Engine)) {
        skipOrFail(t, `engine ${engine} is not fetched (run scripts/lab-setup or scripts/docker-lab fetch ${engine})`);
        return;
      }
      await churnCase(t, engine as Engine);
    });
  }
});

async function churnCase(t: TestContext, engine: Engine): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'isr-lab-churn-'));
  const ctx: ToolContext = { lab, stateDir: join(dir, 'state'), lockFile: join(dir, 'lock') };
  let down: RunResult | undefined;
  let stop = false;
  let churn: Promise<void> | undefined;
  try {
    const env = await lab.up(engine, 'default-bridge');
    const image = 'isr-lab/web:latest';
    // The variant: one more INPUT rule before the REJECT, so every apply has something to do.
    const rhel = readFileSync(RHEL.ipv4, 'utf8');
    const rejectLine = '-A INPUT -j REJECT --reject-with icmp-host-prohibited';
    assert.ok(rhel.includes(rejectLine));
    const variant = join(dir, 'rhel-plus-one.rules');
    writeFileSync(variant, rhel.replace(rejectLine, `-A INPUT -p tcp -m state --state NEW -m tcp --dport 2022 -j ACCEPT\n${rejectLine}`));

    // Churn: published containers on ports 18090..18095 started and removed (a port in use is freed first),
    // and every 4 steps a network is created with a published container on it, 2 steps later both removed.
    const ops: string[] = [];
    const failures: string[] = [];
    const byPort = new Map<number, string>();
    let net: { name: string; ctr: string; port: number } | undefined;
    const dk = async (args: string[]) => {
      const r = await lab.docker(args, { timeoutMs: 60_000 });
      ops.push(args.slice(0, 2).join(' '));
      if (r.exitCode !== 0) failures.push(`docker ${args.join(' ')}: exit ${r.exitCode}: ${r.stderr.trim()}`);
      return r;
    };
    churn = (async () => {
      for (let i = 0; !stop; i++) {
        if (i % 4 === 1 && !net) {
          const name = `churn-net-${i}`;
          const port = 18096;
          await dk(['network', 'create', name]);
          await dk(['run', '-d', '--name', `churn-n${i}`, '--network', name, '-p', `${port}:80`, image]);
          net = { name, ctr: `churn-n${i}`, port };
        } else if (i % 4 === 3 && net) {
          await dk(['rm', '-f', net.ctr]);
          await dk(['network', 'rm', net.name]);
          net = undefined;
        } else {
          const port = 18090 + (i % 6);
          const old = byPort.get(port);
          if (old) {
            await dk(['rm', '-f', old]);
            byPort.delete(port);
          }
          await dk(['run', '-d', '--name', `churn-${i}`, '-p', `${port}:80`, image]);
          byPort.set(port, `churn-${i}`);
        }
      }
    })();

    // The published port of the lab's own container, fetched without pause while the applies run.
    let probing = true;
    const probes = { ok: 0, failed: [] as string[] };
    const prober = (async () => {
      while (probing) {
        const r = await lab.httpGet('client', `http://${env.HOST_IP}:${env.PORT}/`);
        if (r.ok) probes.ok++;
        else probes.failed.push(`${new Date().toISOString()} ${got(r)}`);
      }
    })();

    const codes: Array<number | undefined> = [];
    const applyTimes: number[] = [];
    let raced = 0; // applies whose verification saw Docker change its rules meanwhile (re-merged, re-applied)
    let opsDuring = 0;
    const opsAtStart = ops.length;
    let last = RHEL.ipv4;
    for (let k = 0; k < CHURN_APPLIES; k++) {
      last = k % 2 === 0 ? RHEL.ipv4 : variant;
      const t0 = Date.now();
      const r = await apply(ctx, 'ipv4', last);
      applyTimes.push(Date.now() - t0);
      codes.push(r.exitCode);
      if (/rounds: Docker changed its rules meanwhile/.test(r.stdout + r.stderr)) raced++;
      if (r.exitCode !== APPLIED) t.diagnostic(`apply #${k} (${last}): ${said(r)}`);
    }
    opsDuring = ops.length - opsAtStart;
    probing = false;
    await prober;
    stop = true;
    await churn;
    churn = undefined;
    t.diagnostic(
      `${engine}: ${CHURN_APPLIES} applies (${applyTimes.map((ms) => ms).join(', ')} ms), ` +
        `${opsDuring} docker operations during them (${ops.length} in all); ${raced} applies re-merged because Docker changed its rules meanwhile`,
    );
    t.diagnostic(`${engine}: the published port ${env.PORT} answered ${probes.ok} times during the applies, failed ${probes.failed.length} times`);
    assert.deepEqual(probes.failed, [], `the published port ${env.PORT} answered the client all through the applies`);
    assert.ok(probes.ok >= 5, `the published port was fetched during the applies (${probes.ok} times)`);
    assert.deepEqual(failures, [], 'every docker operation of the churn succeeded');
    assert.deepEqual(codes, codes.map(() => APPLIED), 'every apply under churn applied (exit 0)');
    assert.ok(opsDuring >= 8, `the churn really overlapped the applies (${opsDuring} docker operations during them)`);

    // Afterwards: every running container's published ports answer from the client; plan is clean.
    const ps = await lab.docker(['ps', '--format', '{{.Names}}\t{{.Ports}}']);
    assert.equal(ps.exitCode, 0, ps.stderr);
    const ports: Array<{ name: string; port: number }> = [];
    for (const line of ps.stdout.trim().split('\n').filter(Boolean)) {
      const [name, spec = ''] = line.split('\t');
      for (const m of spec.matchAll(/0\.0\.0\.0:(\d+)->80\/tcp/g)) ports.push({ name, port: Number(m[1]) });
    }
    const expected = new Set([Number(env.PORT), ...byPort.keys(), ...(net ? [net.port] : [])]);
    assert.deepEqual(new Set(ports.map((p) => p.port)), expected, `published ports of the running containers (docker ps: ${ps.stdout})`);
    for (const { name, port } of ports) {
      const url = `http://${env.HOST_IP}:${port}/`;
      const r = await answers('client', url);
      assert.ok(r.ok, `after the churn: ${name}'s published port ${url} answers from the client (${got(r)})`);
    }
    const p = await plan(ctx, 'ipv4', last);
    assert.equal(p.exitCode, 0, `plan after the churn: the live ruleset matches the target: ${said(p)}`);
    assertRejected(await lab.httpGet('client', `http://${env.HOST_IP}:${EXTRA_PORT}/`), 'ipv4', 'after the churn: a port the file does not open');
  } finally {
    stop = true;
    if (churn) await churn.catch(() => undefined);
    down = await lab.down();
    rmSync(dir, { recursive: true, force: true });
    const s = ((Date.now() - started) / 1000).toFixed(1);
    t.diagnostic(`churn ${engine}: ${s} s including up and down`);
    timings.push(`churn ${engine}: ${s} s`);
  }
  assert.equal(down.exitCode, 0, `docker-lab down ${lab.instance}: ${down.stderr}`);
}
