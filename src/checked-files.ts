// A ruleset file that passed every check once is read the quick way the next time.
//
// Parsing the user's file checks every rule (options, addresses, targets: core/validate.ts)
// and tokenizes it; at 100k rules that is about 0.15 s, more than half of what a plan in sync
// costs on top of iptables-save. iptables-save's own output is parsed without those checks
// (`trusted`), since the kernel accepted every rule. A cron job re-applying the same file
// every five minutes need not check it again either: once a root run of this version has
// parsed a text with no error and no warning, and the quick parse of that text gave exactly
// the same ruleset, its digest is remembered in the state directory (root only, 0700) and
// later runs parse it the quick way. Any other text, a --noflush replay (its checks depend on
// the live ruleset), a run without root or without a state directory: the full way, always.
// The digest covers the program too (version, and size and time of the files holding the
// checks): a program that checks differently, even unreleased, remembers afresh.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Chain, Rule, Ruleset } from './core/model.js';
import { parseRuleset, type ParseOptions, type ParseResult } from './core/parse.js';
import { readStateFile, stateDirUsable, writeStateFile } from './io/state.js';
import { VERSION } from './version.js';

const FILE = 'checked-files';
/** Digests remembered (newest last); a host rarely switches between more files than this. */
const KEEP = 32;

export interface CheckedParseOptions extends ParseOptions {
  stateDir?: string;
  /** The text's digest (io/input.ts: of the bytes read, so that the 10 MB text is not hashed again). */
  digest: string;
}

export interface CheckedParseResult extends ParseResult {
  /** Parsed the quick way: this exact text had passed every check before. */
  quick: boolean;
}

export function parseCheckedFile(text: string, opts: CheckedParseOptions): CheckedParseResult {
  const { stateDir, digest: textDigest, ...parseOpts } = opts;
  if (!stateDir || opts.base || opts.trusted || process.getuid?.() !== 0) return { ...parseRuleset(text, parseOpts), quick: false };
  const dir = join(stateDir, 'cache');
  const key = digest(textDigest, parseOpts);
  const known = readKnown(dir);
  if (known.includes(key)) return { ...parseRuleset(text, { ...parseOpts, trusted: true }), quick: true };
  const full = parseRuleset(text, parseOpts); // throws ParseError on a bad file: nothing remembered
  if (full.warnings.length === 0 && full.skipped.length === 0 && stateDirUsable(stateDir) && sameRuleset(full.ruleset, parseRuleset(text, { ...parseOpts, trusted: true }).ruleset)) {
    try {
      writeStateFile(dir, FILE, [...known.filter((k) => k !== key).slice(-(KEEP - 1)), key].join('\n') + '\n');
    } catch {
      // not remembering only costs time
    }
  }
  return { ...full, quick: false };
}

/** The text's digest and what the checks depend on besides it: the program, the family, an empty input's meaning. */
function digest(textDigest: string, opts: ParseOptions): string {
  return createHash('sha256').update(`checked v1\n${VERSION}\n${programStamp()}\n${opts.family}\n${Boolean(opts.allowEmpty)}\n${Boolean(opts.counters)}\n${textDigest}\n`).digest('hex');
}

/**
 * Size and modification time of the files that hold the checks: this module's file (in the
 * bundle, the whole program) and, unbundled, the parser's modules beside it.
 */
function programStamp(): string {
  const self = fileURLToPath(import.meta.url);
  const files = [self, ...['parse', 'validate', 'command', 'tokenize', 'targets'].map((m) => join(dirname(self), 'core', `${m}.js`))];
  return files.map((f) => {
    try {
      const st = statSync(f);
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return '-';
    }
  }).join(' ');
}

function readKnown(dir: string): string[] {
  try {
    return (readStateFile(dir, FILE) ?? '').split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l));
  } catch {
    return [];
  }
}

/** Same tables, chains (in order), policies, counters, rules (text, target, counters, line). */
export function sameRuleset(a: Ruleset, b: Ruleset): boolean {
  if (a.family !== b.family || a.tables.size !== b.tables.size) return false;
  for (const [name, ta] of a.tables) {
    const tb = b.tables.get(name);
    if (!tb || ta.chains.size !== tb.chains.size) return false;
    const cb = [...tb.chains.values()];
    let i = 0;
    for (const ca of ta.chains.values()) if (!sameChain(ca, cb[i++])) return false;
  }
  return true;
}

function sameChain(a: Chain, b: Chain): boolean {
  if (a.name !== b.name || a.builtin !== b.builtin || a.policy !== b.policy || !sameCounters(a, b)) return false;
  if (a.rules.length !== b.rules.length) return false;
  return a.rules.every((r, i) => sameRule(r, b.rules[i]));
}

function sameRule(a: Rule, b: Rule): boolean {
  return a.chain === b.chain && a.text === b.text && a.target?.kind === b.target?.kind && a.target?.name === b.target?.name &&
    sameCounters(a, b) && a.source?.line === b.source?.line;
}

function sameCounters(a: Pick<Rule, 'counters'>, b: Pick<Rule, 'counters'>): boolean {
  return a.counters?.packets === b.counters?.packets && a.counters?.bytes === b.counters?.bytes;
}
