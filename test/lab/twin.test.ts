// Issue 7 acceptance for the twin and the service verbs, in the Docker lab, on every engine
// (20.10, 26, 28; scenario default-bridge, in a lab instance of this process's own):
//  1. the twin (`iptables-safe-restore FILE`, no command) restores the stock RHEL file: silent, exit 0, the
//     published port still answers from the client namespace, every Docker chain and rule is still there;
//  2. `stop`, then the twin again (what `systemctl restart iptables` does through the drop-in): the published
//     port answers after each, and after stop none of the RHEL rules is left;
//  3. `save` prints nothing of Docker's (no Docker chain, bridge, container address, DNAT) and the RHEL rules;
//     `save --out` then the twin of the saved file changes nothing;
//  4. Docker starts another container with a published port; `reconcile` of the RHEL file right after exits 0,
//     prints nothing and changes nothing, and the new port answers from the client.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requireRoot } from '../helpers/root.js';
import { ENGINES, Lab, fixture, forEachEngine, type Engine, type RunResult } from '../helpers/lab.js';
import { assertDockerKept, parse, runTool, said, save, settle, type ToolContext } from '../helpers/lab-apply.js';

const lab = new Lab(`twin-${process.pid}`);
const EXTRA_PORT = 18082;

after(async () => {
  if (process.getuid?.() === 0) await lab.down();
});

test('the twin, stop, save and reconcile in the lab keep Docker answering', { timeout: 1_800_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await forEachEngine(t, ENGINES, oneEngine);
});

const quiet = (r: RunResult) => r.exitCode === 0 && r.stdout === '' && r.stderr === '';

async function oneEngine(t: TestContext, engine: Engine): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'isr-lab-twin-'));
  const ctx: ToolContext = { lab, stateDir: join(dir, 'state'), lockFile: join(dir, 'lock') };
  const tool = (args: string[], stateless = false) => runTool(ctx, 'ipv4', stateless ? args : [...args, '--lock-file', ctx.lockFile], { stateless });
  // the stock file, as root would keep it (the checkout may belong to another user)
  const rhel = join(dir, 'iptables');
  copyFileSync(fixture('rhel-iptables-services.rules'), rhel);
  let down: RunResult | undefined;
  try {
    const env = await lab.up(engine, 'default-bridge');
    const url = (port: string | number) => `http://${env.HOST_IP}:${port}/`;
    const answers = async (port: string | number, when: string) => {
      const end = Date.now() + 10_000;
      let r = await lab.httpGet('client', url(port));
      while (!r.ok && Date.now() < end) {
        await new Promise((res) => setTimeout(res, 250));
        r = await lab.httpGet('client', url(port));
      }
      assert.ok(r.ok, `${when}: ${url(port)} answers from the client (exit ${r.exitCode}: ${(r.stdout + r.stderr).trim().slice(0, 200)})`);
    };
    await answers(env.PORT, 'before');
    const docker = parse(await save(lab, 'ipv4'), 'ipv4', 'before');

    // 1. the twin
    const restored = await tool([rhel]);
    assert.ok(quiet(restored), `twin ${rhel}: silent, exit 0: ${said(restored)}`);
    await answers(env.PORT, 'after the twin');
    assertDockerKept(docker, parse(await save(lab, 'ipv4'), 'ipv4', 'after'), 'after the twin');
    assert.match(await save(lab, 'ipv4'), /^-A INPUT -j REJECT --reject-with icmp-host-prohibited$/m, 'the RHEL rules are live');

    // 2. stop, then start
    const stopped = await tool(['stop']);
    assert.equal(stopped.exitCode, 0, `stop: ${said(stopped)}`);
    await answers(env.PORT, 'after stop');
    const afterStop = await save(lab, 'ipv4');
    assertDockerKept(docker, parse(afterStop, 'ipv4', 'stopped'), 'after stop');
    assert.doesNotMatch(afterStop, /icmp-host-prohibited|--dport 22/, 'after stop: none of the RHEL rules');
    const startedAgain = await tool([rhel]);
    assert.ok(quiet(startedAgain), `twin after stop: ${said(startedAgain)}`);
    await answers(env.PORT, 'after stop and start');

    // 3. save
    const saved = await tool(['save'], true);
    assert.equal(saved.exitCode, 0, said(saved));
    assert.doesNotMatch(saved.stdout, new RegExp(`DOCKER|docker0|DNAT|MASQUERADE|${env.CONTAINER_IP.replace(/\./g, '\\.')}`), `save has nothing of Docker's:\n${saved.stdout}`);
    assert.match(saved.stdout, /^-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT$/m);
    const out = join(dir, 'saved');
    assert.equal((await tool(['save', '--out', out], true)).exitCode, 0);
    const before = await save(lab, 'ipv4');
    const reloaded = await tool([out]);
    assert.ok(quiet(reloaded), `twin of the saved file: ${said(reloaded)}`);
    assert.equal(await save(lab, 'ipv4'), before, 'restoring the saved file changed nothing');

    // 4. Docker adds a container; reconcile right after
    const run = await lab.docker(['run', '-d', '--name', 'twin-extra', '-p', `${EXTRA_PORT}:80`, 'isr-lab/web:latest']);
    assert.equal(run.exitCode, 0, `docker run: ${run.stderr}`);
    await answers(EXTRA_PORT, 'the new container');
    const settled = await settle(lab);
    assert.ok(settled.settled, "Docker's rules settled");
    const reconciled = await tool(['reconcile', rhel]);
    assert.ok(quiet(reconciled), `reconcile right after Docker added a container: exit 0, nothing printed: ${said(reconciled)}`);
    assert.equal(await save(lab, 'ipv4'), settled.v4, 'reconcile changed nothing');
    await answers(EXTRA_PORT, 'the new container after reconcile');
    await answers(env.PORT, 'the first container after reconcile');
  } finally {
    down = await lab.down();
    rmSync(dir, { recursive: true, force: true });
    t.diagnostic(`${engine}: ${((Date.now() - started) / 1000).toFixed(1)} s including up and down`);
  }
  assert.equal(down.exitCode, 0, `docker-lab down ${lab.instance}: ${down.stderr}`);
}
