// The Docker Engine API over its unix socket, with Node's own http client (no docker CLI):
// GET /networks for bridge names and subnets, GET /info for Docker 29's firewall backend.
// Docker not running, or the socket absent, is normal: the answer is then undefined.
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import type { DockerNetwork } from '../core/facts.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface DockerApiFacts {
  networks: DockerNetwork[];
  firewallBackend?: 'iptables' | 'nftables';
}

function getJson(socketPath: string, path: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', headers: { Host: 'docker' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${path}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

interface ApiNetwork {
  Id?: string;
  Name?: string;
  Driver?: string;
  Options?: Record<string, string>;
  IPAM?: { Config?: Array<{ Subnet?: string }> };
}

/** Bridge networks as the Engine API reports them; the bridge is `br-` + 12 hex of the id unless named. */
export function networksFromApi(list: unknown): DockerNetwork[] {
  if (!Array.isArray(list)) return [];
  return (list as ApiNetwork[])
    .filter((n) => n.Driver === 'bridge' && typeof n.Id === 'string')
    .map((n) => ({
      name: n.Name ?? n.Id!,
      bridge: n.Options?.['com.docker.network.bridge.name'] || `br-${n.Id!.slice(0, 12)}`,
      subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => typeof s === 'string'),
      containers: [],
    }));
}

/** What the Engine API says, or undefined (with the reason) when it does not answer. */
export async function readDockerApi(socketPath: string, timeoutMs = 2000): Promise<{ facts?: DockerApiFacts; why?: string }> {
  if (!existsSync(socketPath)) return { why: `no Docker socket at ${socketPath}` };
  try {
    const [networks, info] = await Promise.all([getJson(socketPath, '/networks', timeoutMs), getJson(socketPath, '/info', timeoutMs)]);
    const driver = (info as { FirewallBackend?: { Driver?: string } })?.FirewallBackend?.Driver;
    return {
      facts: {
        networks: networksFromApi(networks),
        firewallBackend: driver === 'nftables' ? 'nftables' : driver === 'iptables' ? 'iptables' : undefined,
      },
    };
  } catch (e) {
    return { why: `Docker API at ${socketPath} did not answer: ${(e as Error).message}` };
  }
}
