// The Engine API client against a fake daemon on a real unix socket (no Docker needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { networksFromApi, readDockerApi } from '../../src/io/docker-api.js';

const NETWORKS = [
  { Name: 'bridge', Id: 'f2de39df4171b0dc801e8002d1d999b77256983dfc63041c0f34030aa3977566', Driver: 'bridge', Options: { 'com.docker.network.bridge.name': 'docker0' }, IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } },
  { Name: 'web', Id: '7d86d31b1478e7cca9ebed7e73aa0fdeec46c5ca29497431d3007d2d9e15ed99', Driver: 'bridge', Options: {}, IPAM: { Config: [{ Subnet: '172.19.0.0/16' }, { Subnet: 'fd00:dead::/64' }] } },
  { Name: 'host', Id: 'a1b2', Driver: 'host', Options: {}, IPAM: { Config: [] } },
];

test('bridge networks: named bridge, or br- plus the first 12 hex of the id; other drivers ignored', () => {
  assert.deepEqual(networksFromApi(NETWORKS), [
    { name: 'bridge', bridge: 'docker0', subnets: ['172.17.0.0/16'], containers: [] },
    { name: 'web', bridge: 'br-7d86d31b1478', subnets: ['172.19.0.0/16', 'fd00:dead::/64'], containers: [] },
  ]);
  assert.deepEqual(networksFromApi({ message: 'not a list' }), []);
});

test('readDockerApi talks HTTP over the unix socket and reads the firewall backend', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'isr-api-'));
  const sock = join(dir, 'docker.sock');
  const server = createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    if (req.url === '/networks') res.end(JSON.stringify(NETWORKS));
    else if (req.url === '/info') res.end(JSON.stringify({ FirewallBackend: { Driver: 'nftables' } }));
    else { res.statusCode = 404; res.end('{}'); }
  });
  await new Promise<void>((r) => server.listen(sock, r));
  t.after(() => { server.close(); rmSync(dir, { recursive: true, force: true }); });
  const got = await readDockerApi(sock);
  assert.equal(got.why, undefined);
  assert.equal(got.facts?.firewallBackend, 'nftables');
  assert.deepEqual(got.facts?.networks.map((n) => n.bridge), ['docker0', 'br-7d86d31b1478']);
});

test('no socket, or a socket that does not answer HTTP, gives a reason instead of facts', async () => {
  const missing = await readDockerApi('/nonexistent/docker.sock');
  assert.match(missing.why ?? '', /no Docker socket at \/nonexistent\/docker.sock/);
  const dir = mkdtempSync(join(tmpdir(), 'isr-api-'));
  const sock = join(dir, 'docker.sock');
  const server = createServer((_req, res) => { res.statusCode = 500; res.end('boom'); });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const bad = await readDockerApi(sock, 500);
    assert.equal(bad.facts, undefined);
    assert.match(bad.why ?? '', /did not answer: GET \/(networks|info): HTTP 500/);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
