// Control test: reproduces the failure this project exists for, on every real engine.
//
// A container published with -p answers the outside world (the client namespace) at the host's main IP.
// A plain `iptables-restore` of the stock RHEL iptables-services ruleset (filter table only) then flushes
// Docker's filter chains: the client is refused (FORWARD ends in REJECT icmp-host-prohibited), while
// 127.0.0.1:PORT inside the host still answers through docker-proxy. If any step here stops holding, the
// premise of the later lab tests is wrong, so each one is asserted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { ENGINES, Lab, fixture, forEachEngine, WEB_BODY } from '../helpers/lab.js';

const lab = new Lab('control');
const RHEL_RULES = fixture('rhel-iptables-services.rules');

after(async () => {
  // Also after a failure or a crash half-way: nothing of the lab may outlive the test file.
  if (process.getuid?.() === 0) await lab.down();
});

test('control: a plain iptables-restore breaks published ports on every engine', { timeout: 900_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await forEachEngine(t, ENGINES, async (t, engine) => {
    const started = Date.now();
    let down;
    try {
      const env = await lab.up(engine, 'default-bridge');
      assert.equal(env.STATUS, 'ready', 'docker-lab up reports the lab ready');
      assert.equal(env.ENGINE, engine);
      assert.match(env.ENGINE_VERSION ?? '', new RegExp(`^Docker version ${engine.replace('.', '\\.')}\\.`));
      const hostIp = env.HOST_IP;
      const port = env.PORT;
      assert.ok(hostIp && port, 'lab.env names the host IP and the published port');
      const outside = `http://${hostIp}:${port}/`;
      const loopback = `http://127.0.0.1:${port}/`;

      // 1. Before: the published port works from outside and from the host itself.
      const before = await lab.httpGet('client', outside);
      assert.ok(before.ok, `before: client reaches ${outside} (exit ${before.exitCode}: ${before.stderr})`);
      assert.ok(before.stdout.includes(WEB_BODY));
      const beforeLocal = await lab.httpGet('host', loopback);
      assert.ok(beforeLocal.ok, `before: host reaches ${loopback} (exit ${beforeLocal.exitCode}: ${beforeLocal.stderr})`);
      const dockerChain = await lab.exec(['iptables', '-w', '-S', 'DOCKER']);
      assert.equal(dockerChain.exitCode, 0, `before: filter table has Docker's DOCKER chain: ${dockerChain.stderr}`);
      assert.match(dockerChain.stdout, /--dport 80 -j ACCEPT/, 'before: DOCKER chain accepts the published port');

      // 2. The operator's step: restore the stock RHEL ruleset with the plain tool, in the lab host namespace.
      const restore = await lab.exec(['iptables-restore', RHEL_RULES]);
      assert.equal(restore.exitCode, 0, `iptables-restore of ${RHEL_RULES} succeeds: ${restore.stderr}`);

      // 3. What that did: filter table replaced wholesale, nat table (not in the file) left alone.
      const gone = await lab.exec(['iptables', '-w', '-S', 'DOCKER']);
      assert.notEqual(gone.exitCode, 0, 'after: the filter DOCKER chain is gone (flushed by iptables-restore)');
      const forward = await lab.exec(['iptables', '-w', '-S', 'FORWARD']);
      assert.equal(forward.exitCode, 0);
      assert.deepEqual(
        forward.stdout.trim().split('\n'),
        ['-P FORWARD ACCEPT', '-A FORWARD -j REJECT --reject-with icmp-host-prohibited'],
        'after: FORWARD is exactly the RHEL ruleset',
      );
      const nat = await lab.exec(['iptables-save', '-t', 'nat']);
      assert.match(nat.stdout, new RegExp(`--dport ${port} -j DNAT --to-destination ${env.CONTAINER_IP}:80`), 'after: nat DNAT kept');

      // 4. The failure: the outside world is refused (REJECT, so an error, not a timeout) ...
      const afterOutside = await lab.httpGet('client', outside);
      assert.equal(afterOutside.ok, false, `after: client must NOT reach ${outside}, got: ${afterOutside.stdout}`);
      assert.equal(afterOutside.timedOut, false, 'after: refused at once (REJECT), not silently dropped');
      assert.match(afterOutside.stderr, /No route to host|Host is unreachable/i, 'after: icmp-host-prohibited seen by the client');

      // ... while the host itself still gets through docker-proxy on loopback, and the container is fine.
      const afterLocal = await lab.httpGet('host', loopback);
      assert.ok(afterLocal.ok, `after: host still reaches ${loopback} via docker-proxy (exit ${afterLocal.exitCode}: ${afterLocal.stderr})`);
      const running = await lab.exec(['docker', 'inspect', '-f', '{{.State.Running}}', env.CONTAINER_NAME ?? 'isr-web']);
      assert.equal(running.stdout.trim(), 'true', 'after: the container itself is still running');
    } finally {
      down = await lab.down();
      t.diagnostic(`engine ${engine}: ${((Date.now() - started) / 1000).toFixed(1)} s including up and down`);
    }
    // Reached only when the steps above passed, so a teardown problem never hides the real failure.
    assert.equal(down.exitCode, 0, `docker-lab down control: ${down.stderr}`);
  });
});
