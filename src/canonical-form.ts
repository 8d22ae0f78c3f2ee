// The user's part of the target in canonical form — the text iptables itself would print —
// so that plan compares like with like and a user writing `-p tcp --dport 22` sees no change
// when the kernel prints `-p tcp -m tcp --dport 22`.
//
// With root, the user's stripped ruleset is loaded into a throwaway network namespace and read
// back (exact). That costs about one restore, so the result is cached in the state directory,
// keyed by the text loaded, the family, the backend and the iptables version (a file the
// kernel prints back unchanged, as any iptables-save output, is cached as a mark). Without root
// (or with --canonical lexical) the offline normalizer is used and says which rules it is
// unsure of.
import { chainsInSaveOrder, type Family, type Ruleset, type TableName } from './core/model.js';
import { isKnownTarget } from './core/targets.js';
import { parseRuleset } from './core/parse.js';
import { writeRuleset, writeRulesetPieces } from './core/write.js';
import { normalizeRuleset } from './core/normalize.js';
import { createHash } from 'node:crypto';
import { SystemError } from './errors.js';
import { canonicalizeInKernel } from './io/canonicalize.js';
import { toolVersion, type Backend } from './io/iptables.js';
import { pruneStateFiles, readStateFile, stateDirUsable, writeStateFile } from './io/state.js';
import { join } from 'node:path';

export type CanonicalMode = 'auto' | 'kernel' | 'lexical';

/** Canonical forms kept in the cache (each file's text seen last; older ones are made again if needed). */
const CACHE_KEEP = 32;

export interface CanonicalResult {
  ruleset: Ruleset;
  method: 'kernel' | 'lexical';
  /** The backend whose iptables printed the kernel form. */
  backend?: Backend;
  cached: boolean;
  /** Rules the lexical normalizer is unsure of (lexical only). */
  uncertain: Array<{ line?: number; text: string; reason: string }>;
  /** Why kernel canonicalization was not used, in auto mode. */
  fallback?: string;
}

export interface CanonicalOptions {
  mode: CanonicalMode;
  family: Family;
  backend?: Backend;
  stateDir?: string;
  /** The user's -w / -W: how long loading into the throwaway namespace waits for the xtables lock. */
  wait?: number;
  waitInterval?: number;
}

export async function canonicalUserPart(stripped: Ruleset, opts: CanonicalOptions): Promise<CanonicalResult> {
  const root = process.getuid?.() === 0;
  if (opts.mode === 'kernel' || (opts.mode === 'auto' && root && opts.backend)) {
    if (!opts.backend) throw new SystemError('kernel canonicalization needs the iptables backend (--backend nft|legacy)');
    try {
      return await kernel(stripped, opts.backend, opts);
    } catch (e) {
      if (opts.mode === 'kernel' || !(e instanceof SystemError) || !/cannot create network namespace/.test(e.message)) throw e;
      return { ...lexical(stripped), fallback: `no throwaway network namespace (${e.message})` };
    }
  }
  const why = !root ? 'not running as root' : 'no iptables backend to load the rules with';
  return { ...lexical(stripped), fallback: opts.mode === 'auto' ? why : undefined };
}

function lexical(stripped: Ruleset): Omit<CanonicalResult, 'fallback'> {
  const { ruleset, uncertain } = normalizeRuleset(stripped);
  return {
    ruleset,
    method: 'lexical',
    cached: false,
    uncertain: uncertain.map((u) => ({ line: u.rule.source?.line, text: `-A ${u.chain} ${u.rule.text}`, reason: u.reason })),
  };
}

/** The cached kernel form of this stripped ruleset, or undefined: no namespace, no restore. */
export async function cachedCanonical(stripped: Ruleset, opts: CanonicalOptions): Promise<CanonicalResult | undefined> {
  if (!opts.backend || !opts.stateDir || opts.mode === 'lexical' || process.getuid?.() !== 0) return undefined;
  const { input, stubs } = withStubChains(stripped);
  const out = readCached(join(opts.stateDir, 'cache'), await cacheKey(input, opts.backend, opts));
  if (out === undefined) return undefined;
  return { ruleset: fromKernelText(out, stripped, stubs, opts.family), method: 'kernel', backend: opts.backend, cached: true, uncertain: [] };
}

/** sha256 of the text loaded (hashed piece by piece: 10 MB at 100k rules need not exist at once), and what it is loaded with. */
async function cacheKey(input: Ruleset, backend: Backend, opts: CanonicalOptions): Promise<string> {
  const version = await toolVersion(opts.family, backend);
  const h = createHash('sha256').update(`canonical v2\n${opts.family}\n${backend}\n${version}\n`);
  writeRulesetPieces(input, (piece) => h.update(piece));
  return h.digest('hex');
}

/**
 * What the cache holds for a ruleset the kernel printed exactly as it was loaded — the usual
 * case, a file written by iptables-save: a mark instead of a second copy of the text, and on
 * reading, the stripped ruleset itself instead of a second parse of it.
 */
const IDENTICAL = '# iptables-safe-restore: the kernel prints this input unchanged\n';

function fromKernelText(out: string, stripped: Ruleset, stubs: Map<TableName, Set<string>>, family: Family): Ruleset {
  if (out === IDENTICAL) return inSaveOrder(stripped);
  const canon = out.trim() ? parseRuleset(out, { file: 'kernel', family, trusted: true }).ruleset : { family, tables: new Map() };
  restoreShape(canon, stripped, stubs);
  return canon;
}

/** The ruleset as a parse of its iptables-save text would give it: chains in save order. */
function inSaveOrder(rs: Ruleset): Ruleset {
  const out: Ruleset = { family: rs.family, tables: new Map() };
  for (const t of rs.tables.values()) out.tables.set(t.name, { ...t, chains: new Map(chainsInSaveOrder(t).map((c) => [c.name, c])) });
  return out;
}

async function kernel(stripped: Ruleset, backend: Backend, opts: CanonicalOptions): Promise<Omit<CanonicalResult, 'fallback'>> {
  const { input, stubs } = withStubChains(stripped);
  const key = await cacheKey(input, backend, opts);
  const dir = opts.stateDir ? join(opts.stateDir, 'cache') : undefined;
  let out = dir ? readCached(dir, key) : undefined;
  const cached = out !== undefined;
  if (out === undefined) {
    const printed = await canonicalizeInKernel(input, backend, { wait: opts.wait, waitInterval: opts.waitInterval });
    out = printed === writeRuleset(input) ? IDENTICAL : printed;
    if (dir && stateDirUsable(opts.stateDir!)) {
      try {
        writeStateFile(dir, `canonical-${key}.rules`, out);
        pruneStateFiles(dir, 'canonical-', CACHE_KEEP);
      } catch {
        // a cache we cannot write only costs time
      }
    }
  }
  return { ruleset: fromKernelText(out, stripped, stubs, opts.family), method: 'kernel', backend, cached, uncertain: [] };
}

function readCached(dir: string, key: string): string | undefined {
  try {
    return readStateFile(dir, `canonical-${key}.rules`);
  } catch {
    return undefined;
  }
}

/**
 * The stripped file may jump to chains it does not declare (its own rules jumping to a chain
 * an owner keeps, e.g. DOCKER): declare them empty so the namespace accepts the rules.
 */
function withStubChains(rs: Ruleset): { input: Ruleset; stubs: Map<TableName, Set<string>> } {
  const stubs = new Map<TableName, Set<string>>();
  const input: Ruleset = { family: rs.family, tables: new Map() };
  for (const t of rs.tables.values()) {
    const chains = new Map(t.chains);
    for (const c of t.chains.values()) {
      for (const r of c.rules) {
        const to = r.target?.name;
        if (!to || chains.has(to) || isKnownTarget(to, rs.family)) continue;
        chains.set(to, { name: to, builtin: false, policy: null, rules: [] });
        if (!stubs.has(t.name)) stubs.set(t.name, new Set());
        stubs.get(t.name)!.add(to);
      }
    }
    input.tables.set(t.name, { ...t, chains });
  }
  return { input, stubs };
}

/**
 * Put back what loading changed: undeclared policies stay undeclared, stub chains go, and
 * each rule gets the counters the file gave it (the kernel keeps a chain's rules in order,
 * so the n-th rule read back is the n-th rule loaded).
 */
function restoreShape(canon: Ruleset, stripped: Ruleset, stubs: Map<TableName, Set<string>>): void {
  for (const [name, t] of canon.tables) {
    const orig = stripped.tables.get(name)!;
    for (const s of stubs.get(name) ?? []) t.chains.delete(s);
    for (const c of t.chains.values()) {
      const o = orig.chains.get(c.name);
      if (c.builtin) c.policy = o?.policy ?? null;
      c.counters = o?.counters;
      c.source = o?.source;
      if (o && o.rules.length === c.rules.length) {
        c.rules.forEach((r, i) => {
          r.counters = o.rules[i].counters;
          if (o.rules[i].inlineCounters) r.inlineCounters = true;
        });
      }
    }
  }
}
