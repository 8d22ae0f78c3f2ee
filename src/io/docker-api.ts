// The Docker Engine API over its unix socket, with Node's own http client (no docker CLI):
// GET /networks for bridge names and subnets, GET /info for Docker 29's firewall backend
// (the pipeline's facts); and the whole state that shapes Docker's rules — the version, every
// network and running container inspected — for doctor and repair (core/engine-state.ts),
// which can also come from a saved answer file (`--docker-from`, written by `--save-facts`).
// Docker not running, or the socket absent, is normal: the answer is then undefined.
import { request } from 'node:http';
import { closeSync, constants, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import type { DockerNetwork } from '../core/facts.js';
import type { EngineAnswers } from '../core/engine-state.js';
import { InputError } from '../errors.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export interface DockerApiFacts {
  networks: DockerNetwork[];
  firewallBackend?: 'iptables' | 'nftables';
}

/** No answer of the Engine API we ask for comes near this; a socket that sends more is not Docker. */
const MAX_ANSWER_BYTES = 64 << 20;

function getJson(socketPath: string, path: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', headers: { Host: 'docker' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`GET ${path}: answer larger than ${MAX_ANSWER_BYTES >> 20} MiB`));
        else chunks.push(c);
      });
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

/**
 * Everything doctor and repair need from the Engine API: /version, /info, each network and each
 * running container inspected. Undefined (with the reason) when Docker does not answer.
 */
export async function readEngineAnswers(socketPath: string, timeoutMs = 5000): Promise<{ answers?: EngineAnswers; why?: string }> {
  if (!existsSync(socketPath)) return { why: `no Docker socket at ${socketPath}` };
  try {
    const [version, info, networkList, containerList] = await Promise.all(
      ['/version', '/info', '/networks', '/containers/json'].map((p) => getJson(socketPath, p, timeoutMs)),
    );
    const ids = (list: unknown) => (Array.isArray(list) ? list.map((x) => (x as { Id?: unknown })?.Id).filter((id): id is string => typeof id === 'string' && /^[0-9a-zA-Z_.-]+$/.test(id)) : []);
    const networks = await Promise.all(ids(networkList).map((id) => getJson(socketPath, `/networks/${id}`, timeoutMs)));
    const containers = await Promise.all(ids(containerList).map((id) => getJson(socketPath, `/containers/${id}/json`, timeoutMs)));
    return { answers: { version, info, networks, containers } };
  } catch (e) {
    return { why: `Docker API at ${socketPath} did not answer: ${(e as Error).message}` };
  }
}

export const ENGINE_ANSWERS_SCHEMA = 'iptables-safe-restore/docker-facts';

/** The saved answers, as `--save-facts` writes them (versioned, so a later reader can refuse what it does not know). */
export function engineAnswersJson(answers: EngineAnswers, savedAt: Date): string {
  return JSON.stringify({ schema: ENGINE_ANSWERS_SCHEMA, schemaVersion: 1, savedAt: savedAt.toISOString(), ...answers }, null, 1) + '\n';
}

/** Read a saved answer file (`--docker-from`): a regular file, at most MAX_ANSWER_BYTES, of our schema. */
export function readEngineAnswersFile(path: string): EngineAnswers {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new InputError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError(`${path}: not a regular file`);
    if (st.size > MAX_ANSWER_BYTES) throw new InputError(`${path}: larger than ${MAX_ANSWER_BYTES >> 20} MiB: not a saved Docker facts file`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    text = buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new InputError(`${path}: not a saved Docker facts file (not JSON; write one with 'doctor --save-facts')`);
  }
  if (doc?.schema !== ENGINE_ANSWERS_SCHEMA) throw new InputError(`${path}: not a saved Docker facts file (schema is not ${ENGINE_ANSWERS_SCHEMA})`);
  if (doc.schemaVersion !== 1) throw new InputError(`${path}: Docker facts schema version ${String(doc.schemaVersion).slice(0, 10)} is not supported (1 is)`);
  const list = (v: unknown) => (Array.isArray(v) ? v : []);
  return { version: doc.version, info: doc.info, networks: list(doc.networks), containers: list(doc.containers) };
}
