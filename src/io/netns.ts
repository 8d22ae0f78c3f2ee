// Throwaway network namespaces. Each is named `isr-<purpose>-<pid>-<n>` so that one left
// behind by a crashed run can be recognised and removed (its pid no longer exists).
import { readdirSync } from 'node:fs';
import { SystemError } from '../errors.js';
import { run } from './run.js';
import { pidAlive } from './pid.js';

const PREFIX = 'isr-';
let counter = 0;

export interface Netns {
  name: string;
  /** Path for nsenter --net=. */
  path: string;
}

export async function createNetns(purpose: string): Promise<Netns> {
  const name = `${PREFIX}${purpose}-${process.pid}-${counter++}`;
  const res = await run('ip', ['netns', 'add', name]);
  if (res.exitCode !== 0) {
    throw new SystemError(`cannot create network namespace '${name}' (needs root)`, res.stderr.trim());
  }
  return { name, path: `/run/netns/${name}` };
}

export async function deleteNetns(ns: Netns): Promise<void> {
  await run('ip', ['netns', 'delete', ns.name]);
}

/**
 * Run fn inside a fresh namespace and always delete it afterwards. A run killed (SIGKILL,
 * power loss) between the two leaves its namespace behind: the next one removes it.
 */
export async function withNetns<T>(purpose: string, fn: (ns: Netns) => Promise<T>): Promise<T> {
  await sweepStaleNetns();
  const ns = await createNetns(purpose);
  try {
    return await fn(ns);
  } finally {
    await deleteNetns(ns);
  }
}

/** Remove namespaces of ours whose creating process is gone. Returns their names. */
export async function sweepStaleNetns(): Promise<string[]> {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return [];
  }
  const stale = names.filter((n) => {
    const m = /^isr-[a-z0-9]+-(\d+)-\d+$/.exec(n);
    return m !== null && !pidAlive(Number(m[1]));
  });
  for (const name of stale) await run('ip', ['netns', 'delete', name]);
  return stale;
}
