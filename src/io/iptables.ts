// The iptables tools: which binary for a family and backend, and save / restore / test.
import type { Family } from '../core/model.js';
import { SystemError } from '../errors.js';
import { closeSync, readFileSync, rmSync } from 'node:fs';
import tmp from 'tmp';
import { run, type RunOptions } from './run.js';

export type Backend = 'nft' | 'legacy';

export function toolName(family: Family, backend: Backend, tool: 'save' | 'restore'): string {
  return `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}-${tool}`;
}

/** The backend of the `iptables` (or `ip6tables`) on PATH: what `--version` says. */
export async function detectBackend(family: Family): Promise<Backend> {
  const bin = family === 'ipv4' ? 'iptables' : 'ip6tables';
  const res = await run(bin, ['--version']);
  if (res.exitCode !== 0) throw new SystemError(`cannot run '${bin} --version': is iptables installed?`, res.stderr);
  const backend: Backend | undefined = res.stdout.includes('nf_tables') ? 'nft' : res.stdout.includes('legacy') ? 'legacy' : undefined;
  if (!backend) throw new SystemError(`cannot tell the backend of ${bin} from '${res.stdout.trim()}'`);
  versions.set(toolName(family, backend, 'save'), res.stdout.trim()); // the same tool set: no second --version
  return backend;
}

const versions = new Map<string, string>();

/** `iptables v1.8.9 (nf_tables)` of the given tool set: part of the canonical cache key. */
export async function toolVersion(family: Family, backend: Backend): Promise<string> {
  const tool = toolName(family, backend, 'save');
  if (!versions.has(tool)) {
    const res = await run(tool, ['--version']);
    if (res.exitCode !== 0) throw new SystemError(`cannot run '${tool} --version': is iptables (${backend}) installed?`, res.stderr.trim());
    versions.set(tool, res.stdout.trim());
  }
  return versions.get(tool)!;
}

/** Does the other backend hold any rules or user chains? (Rules in both = split brain.) */
export async function otherBackendInUse(family: Family, backend: Backend, netns?: string): Promise<boolean> {
  const other: Backend = backend === 'nft' ? 'legacy' : 'nft';
  const res = await run(toolName(family, other, 'save'), [], { netns });
  if (res.exitCode !== 0) return false;
  return res.stdout.split('\n').some((l) => l.startsWith('-A ') || (l.startsWith(':') && / - \[/.test(l)));
}

export interface ToolOptions extends RunOptions {
  family: Family;
  backend: Backend;
}

/**
 * iptables-save output with the `#` comment lines removed. The output goes through a
 * temporary file rather than a pipe: with 100k rules (10 MB) a pipe would stall the tool
 * whenever we are busy parsing something else, instead of letting both run at once.
 */
export async function save(opts: ToolOptions & { counters?: boolean; table?: string }): Promise<string> {
  const args = [...(opts.counters ? ['-c'] : []), ...(opts.table ? ['-t', opts.table] : [])];
  const tool = toolName(opts.family, opts.backend, 'save');
  const file = tmp.fileSync({ prefix: 'isr-save-', mode: 0o600 });
  try {
    closeSync(file.fd);
    const res = await run(tool, args, { ...opts, stdoutFile: file.name });
    if (res.exitCode !== 0) throw new SystemError(`${tool} failed (exit ${res.exitCode})${where(opts)}`, res.stderr.trim());
    return stripComments(readFileSync(file.name, 'utf8'));
  } finally {
    rmSync(file.name, { force: true });
  }
}

export interface RestoreOptions extends ToolOptions {
  noflush?: boolean;
  test?: boolean;
  counters?: boolean;
  /** Seconds to wait for the xtables lock (default: as long as it takes). */
  wait?: number;
  /** Microseconds between xtables lock attempts (-W). */
  waitInterval?: number;
  /** The program that loads kernel modules (-M). */
  modprobe?: string;
}

/** iptables-restore with the given input; throws SystemError with iptables' own message on failure. */
export async function restore(input: string, opts: RestoreOptions): Promise<void> {
  const wait = opts.wait !== undefined ? ['-w', String(opts.wait)] : ['-w'];
  const args = [
    ...wait, ...(opts.waitInterval !== undefined ? ['-W', String(opts.waitInterval)] : []), ...(opts.modprobe ? ['-M', opts.modprobe] : []),
    ...(opts.noflush ? ['--noflush'] : []), ...(opts.test ? ['--test'] : []), ...(opts.counters ? ['--counters'] : []),
  ];
  const tool = toolName(opts.family, opts.backend, 'restore');
  const res = await run(tool, args, { ...opts, input });
  if (res.exitCode !== 0) throw new SystemError(`${tool} failed (exit ${res.exitCode})${where(opts)}`, res.stderr.trim());
}

function where(opts: RunOptions): string {
  return opts.netns ? ` in namespace ${opts.netns}` : '';
}

export function stripComments(text: string): string {
  if (!text.includes('\n#') && !text.startsWith('#')) return text;
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}
