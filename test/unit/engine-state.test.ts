// The Engine API state (core/engine-state.ts) read from real answers, checked against the
// rules the same engine wrote at the same moment (test/fixtures/engine-api, captured together
// by scripts/capture-engine-api): every bridge the API names is in Docker's rules, every port it
// says is published has its DNAT rule to the container address it reports. And the saved
// answer file (`--docker-from`) is refused, in one line, when it is not one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { engineStateFromApi } from '../../src/core/engine-state.js';
import { engineAnswersJson, readEngineAnswersFile } from '../../src/io/docker-api.js';
import { fixture } from '../helpers/fixtures.js';

const dir = fixture('engine-api');
const sets = readdirSync(dir)
  .filter((e) => !e.endsWith('.md'))
  .flatMap((engine) =>
    readdirSync(join(dir, engine))
      .filter((n) => n.endsWith('.docker.json'))
      .map((n) => ({ engine, scenario: n.replace(/\.docker\.json$/, ''), base: join(dir, engine, n.replace(/\.docker\.json$/, '')) })),
  );

test('the engine-api captures cover every engine the lab runs', () => {
  assert.deepEqual([...new Set(sets.map((s) => s.engine))].sort(), ['20.10', '26', '28']);
  assert.ok(sets.length >= 18, `${sets.length} capture sets`);
});

for (const s of sets) {
  test(`${s.engine} ${s.scenario}: the API's networks and published ports are the ones in the engine's rules`, () => {
    const state = engineStateFromApi(readEngineAnswersFile(`${s.base}.docker.json`));
    const v4 = readFileSync(`${s.base}.v4.rules`, 'utf8');
    const v6 = readFileSync(`${s.base}.v6.rules`, 'utf8');
    assert.deepEqual(state.warnings, []);
    assert.equal(state.firewallBackend, 'iptables');
    assert.equal(state.swarm, false);
    assert.ok(state.version.startsWith(s.engine === '20.10' ? '20.10.' : `${s.engine}.`), state.version);
    const bridges = state.networks.filter((n) => n.driver === 'bridge');
    assert.ok(bridges.some((n) => n.bridge === 'docker0'), 'the default bridge network is docker0');
    for (const n of bridges) {
      // Docker writes rules for every bridge network (isolation, forwarding, masquerade)
      assert.match(v4, new RegExp(`-[io] ${n.bridge.replace(/[.]/g, '\\.')}\\b`), `${n.name}: bridge ${n.bridge} in the rules`);
      for (const sub of n.subnets4) if (n.masquerade && !n.internal) assert.ok(v4.includes(`-s ${sub} `), `${n.name}: MASQUERADE of ${sub}`);
    }
    const running = state.containers.filter((c) => c.running);
    assert.ok(running.length >= 1, 'the scenario runs a container');
    for (const c of running) {
      assert.ok(c.pid && c.pid > 1, `${c.name}: pid`);
      assert.ok(c.endpoints.length >= 1 && c.endpoints.every((e) => e.networkId && bridges.some((n) => n.id === e.networkId)), `${c.name}: endpoints`);
      for (const p of c.ports) {
        const ep = c.endpoints.find((e) => (p.hostIp.includes(':') ? e.ipv6 : e.ipv4));
        if (!ep) continue; // a v6 binding of a container without an IPv6 address: docker-proxy only
        const rules = p.hostIp.includes(':') ? v6 : v4;
        const to = p.hostIp.includes(':') ? `[${ep.ipv6}]:${p.containerPort}` : `${ep.ipv4}:${p.containerPort}`;
        const dnat = rules.split('\n').find((l) => l.startsWith('-A DOCKER ') && l.includes(`--dport ${p.hostPort} `) && l.endsWith(`-j DNAT --to-destination ${to}`));
        assert.ok(dnat, `${c.name}: ${p.proto}/${p.hostPort} on '${p.hostIp}' → ${to} has its DNAT rule`);
        if (p.hostIp && p.hostIp !== '0.0.0.0' && p.hostIp !== '::') assert.ok(dnat!.includes(`-d ${p.hostIp}/`), `${c.name}: bound to ${p.hostIp}`);
      }
    }
  });
}

test('malformed answers are left out with a warning, never thrown', () => {
  const state = engineStateFromApi({
    version: 'not an object',
    info: { FirewallBackend: { Driver: 'nftables' }, Swarm: { LocalNodeState: 'active' } },
    networks: [null, { Name: 'x' }, { Id: 'abcdef0123456789', Driver: 'bridge', IPAM: { Config: [{ Subnet: 'nonsense' }, { Subnet: 'fd00::/64', Gateway: 'fd00::1' }] }, Options: { 'com.docker.network.bridge.enable_icc': 'false' } }],
    containers: [7, { Id: 'c1', State: { Running: true, Pid: 42 }, NetworkSettings: { Ports: { '80/tcp': [{ HostPort: '99999' }], 'x/y': [], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '53' }] } } }],
  });
  assert.equal(state.version, 'unknown');
  assert.equal(state.firewallBackend, 'nftables');
  assert.equal(state.swarm, true);
  assert.equal(state.networks.length, 1);
  const n = state.networks[0];
  assert.deepEqual([n.bridge, n.icc, n.masquerade, n.subnets4, n.subnets6, n.gateways6], ['br-abcdef012345', false, true, [], ['fd00::/64'], ['fd00::1']]);
  assert.deepEqual(state.containers.map((c) => c.ports), [[{ proto: 'udp', containerPort: 53, hostIp: '127.0.0.1', hostPort: 53 }]]);
  assert.equal(state.warnings.length, 5, state.warnings.join('; ')); // two networks, a subnet, a container, a port
});

test('a saved facts file round-trips; anything else is refused in one line without quoting it', (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'isr-engine-state-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const answers = { version: { Version: '28.5.2' }, info: {}, networks: [], containers: [] };
  const good = join(tmp, 'facts.json');
  writeFileSync(good, engineAnswersJson(answers, new Date(0)));
  assert.deepEqual(readEngineAnswersFile(good), answers);

  const secret = 'root:$6$Zq8bSecretHash0123456789abcdefghijklmnopqrstuv:19700:0:99999:7:::';
  const cases: Array<[string, string | undefined, RegExp]> = [
    ['shadow', `${secret}\ndaemon:*:19700:0:99999:7:::\n`, /not a saved Docker facts file \(not JSON/],
    ['other.json', JSON.stringify({ schema: 'something-else', secret }), /schema is not iptables-safe-restore\/docker-facts/],
    ['future.json', JSON.stringify({ schema: 'iptables-safe-restore/docker-facts', schemaVersion: 99 }), /version 99 is not supported/],
    ['missing', undefined, /cannot read: ENOENT/],
  ];
  for (const [name, content, want] of cases) {
    const p = join(tmp, name);
    if (content !== undefined) writeFileSync(p, content);
    assert.throws(() => readEngineAnswersFile(p), (e: Error) => {
      assert.match(e.message, want);
      assert.ok(!e.message.includes('\n') && !e.message.includes('Zq8bSecret'), e.message);
      return true;
    });
  }
  // a FIFO nobody writes to is refused at once, not waited on
  const fifo = join(tmp, 'fifo');
  execFileSync('mkfifo', [fifo]);
  assert.ok(existsSync(fifo));
  assert.throws(() => readEngineAnswersFile(fifo), /not a regular file/);
});
