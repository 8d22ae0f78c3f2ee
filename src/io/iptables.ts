// The iptables tools: which binary for a family and backend, and save / restore / test.
import type { Family, Ruleset } from '../core/model.js';
import { createParser } from '../core/parse.js';
import { matchSave } from '../core/save-match.js';
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
  versions.set(toolName(family, backend, 'save'), Promise.resolve(res.stdout.trim())); // the same tool set: no second --version
  return backend;
}

const versions = new Map<string, Promise<string>>();

/** `iptables v1.8.9 (nf_tables)` of the given tool set: part of the canonical cache key. */
export function toolVersion(family: Family, backend: Backend): Promise<string> {
  const tool = toolName(family, backend, 'save');
  let v = versions.get(tool);
  if (!v) {
    v = run(tool, ['--version']).then((res) => {
      if (res.exitCode !== 0) throw new SystemError(`cannot run '${tool} --version': is iptables (${backend}) installed?`, res.stderr.trim());
      return res.stdout.trim();
    });
    versions.set(tool, v);
    v.catch(() => versions.delete(tool));
  }
  return v;
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

/**
 * iptables-save, its output handed to `onBlock` in whole lines while it runs: the output goes
 * to a temporary file (the tool never waits for us) that is read behind it, so that little is
 * left to do when it exits. Returns what followed the last newline ('' from any iptables-save).
 */
async function saveInBlocks(opts: ToolOptions & { counters?: boolean }, onBlock: (block: string) => void): Promise<string> {
  const tool = toolName(opts.family, opts.backend, 'save');
  const file = tmp.fileSync({ prefix: 'isr-save-', mode: 0o600 });
  let rest = '';
  try {
    closeSync(file.fd);
    const onStdout = (chunk: string) => {
      const cut = chunk.lastIndexOf('\n');
      if (cut < 0) {
        rest += chunk;
        return;
      }
      const block = rest + chunk.slice(0, cut + 1);
      rest = chunk.slice(cut + 1);
      onBlock(block);
    };
    const res = await run(tool, opts.counters ? ['--counters'] : [], { ...opts, stdoutFile: file.name, onStdout });
    if (res.exitCode !== 0) throw new SystemError(`${tool} failed (exit ${res.exitCode})${where(opts)}`, res.stderr.trim());
  } finally {
    rmSync(file.name, { force: true });
  }
  return rest;
}

/** iptables-save, parsed while it runs. The text is returned too, without comment lines. */
export async function saveParsed(opts: ToolOptions & { name: string; counters?: boolean }): Promise<{ parts: () => string[]; ruleset: Ruleset }> {
  const parser = createParser({ file: opts.name, family: opts.family, trusted: true });
  // Whole lines go to the parser; the same strings, kept, are the text (one copy in memory).
  const blocks: string[] = [];
  const rest = await saveInBlocks(opts, (block) => {
    blocks.push(block);
    parser.push(block);
  });
  parser.push(rest);
  // The text only when asked for (a snapshot), in pieces of whole lines: plan never needs it.
  const parts = () => (rest === '' ? blocks.map(stripComments) : [stripComments(blocks.join('') + rest)]);
  // An empty save (no tables loaded yet) is a valid live ruleset.
  const small = blocks.reduce((n, c) => n + c.length, 0) + rest.length < 65536;
  if (small && parts().join('').trim() === '') return { parts, ruleset: { family: opts.family, tables: new Map() } };
  return { parts, ruleset: parser.end().ruleset };
}

/**
 * Does iptables-save print exactly `target` (core/save-match.ts)? undefined when it does,
 * else the first difference. Compared as it streams: no ruleset is built.
 */
export async function saveDiffers(opts: ToolOptions, target: Ruleset): Promise<string | undefined> {
  const matcher = matchSave(target);
  matcher.push(await saveInBlocks(opts, (block) => matcher.push(block)));
  return matcher.end();
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

/** The text without its `#` comment lines (iptables-save prints two per table). */
export function stripComments(text: string): string {
  const next = (from: number) => {
    const k = text.indexOf('\n#', from);
    return k < 0 ? -1 : k + 1;
  };
  let at = text.startsWith('#') ? 0 : next(0);
  if (at < 0) return text;
  const kept: string[] = [];
  let from = 0;
  while (at >= 0) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) {
      // the last line, a comment without newline: the newline before it goes too
      kept.push(text.slice(from, at));
      const out = kept.join('');
      return out.endsWith('\n') ? out.slice(0, -1) : out;
    }
    kept.push(text.slice(from, at));
    from = nl + 1;
    at = next(nl);
  }
  kept.push(text.slice(from));
  return kept.join('');
}
