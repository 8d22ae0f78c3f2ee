// apply --confirm on a real Docker host (issue 8): the stock RHEL ruleset is applied with
// --confirm and never confirmed; during the window a container is started with a published
// port. At the deadline the watchdog rolls the RHEL rules back — and both the lab's own
// container and the one started during the window still answer from the client namespace:
// the rollback merged the snapshot with the Docker rules live at the deadline, not with a stale
// copy. Engines: ISR_LAB_CONFIRM_ENGINES (default: all three), scenario default-bridge, in a lab
// instance of this process's own ("confirm-PID").
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { ENGINES as ALL_ENGINES, Lab, fixture, forEachEngine, type Engine, type RunResult } from '../helpers/lab.js';
import { runTool, said, save, type ToolContext } from '../helpers/lab-apply.js';
import { killWatchdogsOf, watchdogsOf } from '../helpers/watchdogs.js';

const lab = new Lab(`confirm-${process.pid}`);
const ENGINES = (process.env.ISR_LAB_CONFIRM_ENGINES ?? ALL_ENGINES.join(',')).split(',').map((s) => s.trim()).filter(Boolean) as Engine[];
const RHEL = fixture('rhel-iptables-services.rules');
const LATE_PORT = 18090;
const WINDOW_S = 12;
const dirs: string[] = [];

after(async () => {
  // also after a failure: no watchdog, no lab, no temp directory outlives the file
  for (const d of dirs) killWatchdogsOf(join(d, 'state'));
  if (process.getuid?.() === 0) await lab.down();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answers(url: string, seconds = 10): Promise<RunResult & { ok: boolean }> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const r = await lab.httpGet('client', url);
    if (r.ok || Date.now() >= end) return r;
    await sleep(250);
  }
}

test('apply --confirm in the lab: not confirmed, rolled back at the deadline; a container started in the window keeps its port', { timeout: 900_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await forEachEngine(t, ENGINES, async (t, engine) => {
    const dir = mkdtempSync(join(tmpdir(), 'isr-lab-confirm-'));
    dirs.push(dir);
    const ctx: ToolContext = { lab, stateDir: join(dir, 'state'), lockFile: join(dir, 'lock') };
    const env = await lab.up(engine, 'default-bridge');
    assert.equal(env.STATUS, 'ready');
    const first = `http://${env.HOST_IP}:${env.PORT}/`;
    const late = `http://${env.HOST_IP}:${LATE_PORT}/`;
    assert.ok((await answers(first)).ok, `before: ${first} answers`);
    const before = await save(lab, 'ipv4');
    assert.doesNotMatch(before, /icmp-host-prohibited/);

    const a = await runTool(ctx, 'ipv4', ['apply', RHEL, `--confirm=${WINDOW_S}s`, '--lock-file', ctx.lockFile]);
    assert.equal(a.exitCode, 0, said(a));
    assert.match(a.stderr, /AWAITING CONFIRMATION/);
    const pendingFile = join(ctx.stateDir, 'confirm-pending.json');
    assert.ok(existsSync(pendingFile));
    assert.match(await save(lab, 'ipv4'), /-A INPUT -j REJECT --reject-with icmp-host-prohibited/, 'the RHEL rules are live');

    // Docker changes its rules during the window
    const run = await lab.docker(['run', '-d', '--name', 'confirm-late', '-p', `${LATE_PORT}:80`, 'isr-lab/web:latest'], { timeoutMs: 60_000 });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.ok((await answers(late)).ok, `during the window: ${late} answers`);

    const end = Date.now() + (WINDOW_S + 15) * 1000;
    while (existsSync(pendingFile) && Date.now() < end) await sleep(100);
    assert.ok(!existsSync(pendingFile), 'rolled back by the deadline');
    const after = await save(lab, 'ipv4');
    assert.doesNotMatch(after, /icmp-host-prohibited/, 'the RHEL rules are gone');
    assert.match(after, new RegExp(`--dport 80 -j ACCEPT`), "Docker's rules for the containers are there");
    const r1 = await answers(first);
    const r2 = await answers(late);
    assert.ok(r1.ok, `after the rollback: ${first} answers (${r1.stderr})`);
    assert.ok(r2.ok, `after the rollback: the container started in the window, ${late}, answers (${r2.stderr})`);
    const j = JSON.parse(readFileSync(join(ctx.stateDir, 'journal.jsonl'), 'utf8').trim().split('\n').pop()!);
    assert.equal(j.result, 'not-confirmed');
    t.diagnostic(`engine ${engine}: ${j.summary}`);
    const deadline = Date.now() + 3000;
    while (watchdogsOf(ctx.stateDir).length && Date.now() < deadline) await sleep(50);
    assert.deepEqual(watchdogsOf(ctx.stateDir), [], 'the watchdog exited');
  });
});
