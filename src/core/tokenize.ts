// Splitting a rule line into arguments exactly as iptables-restore 1.8 does
// (xshared.c add_param_to_argv): blanks separate arguments; a double quote opens a quoted
// part in which a backslash takes the next character literally; the closing quote ends the
// argument (so `"a b"c` is two arguments and `""` is one empty argument); outside quotes a
// backslash is an ordinary character.
//
// One deliberate difference: iptables-restore silently accepts an unterminated quote and
// swallows the rest of the line into one argument (`--comment "x -j ACCEPT` loads a rule with
// no target). We report it instead.

/** The arguments of one line, as parallel arrays (one object per line, not per argument). */
export interface Tokens {
  values: string[];
  /** Offset of each argument's first character (an opening quote included) in the line. */
  starts: number[];
  /** Which arguments had quotes; undefined when none had. */
  quoted?: boolean[];
}

export type TokenizeResult = { ok: true; tokens: Tokens } | { ok: false; reason: string; column: number };


export function tokenize(line: string): TokenizeResult {
  if (!line.includes('"')) return { ok: true, tokens: splitBlanks(line) };
  const values: string[] = [];
  const starts: number[] = [];
  const quotedFlags: boolean[] = [];
  const push = (v: string, at: number, q: boolean) => {
    values.push(v);
    starts.push(at);
    quotedFlags.push(q);
  };
  let buf = '';
  let inToken = false;
  let start = 0;
  let quoted = false;
  let quoteOpen = false;
  let quoteAt = 0;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoteOpen) {
      if (ch === '\\' && i + 1 < line.length) {
        buf += line[++i];
      } else if (ch === '"') {
        quoteOpen = false;
        push(buf, start, true);
        buf = '';
        inToken = false;
        quoted = false;
      } else {
        buf += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (!inToken) {
        inToken = true;
        start = i;
      }
      quoteOpen = true;
      quoted = true;
      quoteAt = i;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\n') {
      if (inToken) {
        push(buf, start, quoted);
        buf = '';
        inToken = false;
        quoted = false;
      }
      continue;
    }
    if (!inToken) {
      inToken = true;
      start = i;
    }
    buf += ch;
  }
  if (quoteOpen) return { ok: false, reason: 'unterminated quote', column: quoteAt + 1 };
  if (inToken) push(buf, start, quoted);
  return { ok: true, tokens: { values, starts, quoted: quotedFlags } };
}

// Rulesets repeat the same few dozen option words (-p, -m, --dport, -j) across
// thousands of rules. Sharing one string per option keeps 100k parsed rules from holding a
// million small strings for the garbage collector to copy. Values (addresses, ports) vary too
// much: hashing them costs more than it saves (measured).
const INTERN_MAX = 50_000;
const interned = new Map<string, string>();

function intern(s: string): string {
  if (s.length > 24 || s.charCodeAt(0) !== 45 /* - */) return s;
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size < INTERN_MAX) interned.set(s, s);
  return s;
}

function splitBlanks(line: string): Tokens {
  const values: string[] = [];
  const starts: number[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10) {
      i++;
      continue;
    }
    const start = i;
    do c = line.charCodeAt(++i);
    while (i < n && c !== 32 && c !== 9 && c !== 10);
    values.push(intern(line.slice(start, i)));
    starts.push(start);
  }
  return { values, starts };
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/**
 * Quote one argument the way iptables-save prints strings (xtables_save_string): bare when it
 * is only letters, digits, `_` and `-`; otherwise in double quotes with `"`, `\` and `'`
 * escaped by a backslash.
 */
export function quoteArg(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  return '"' + value.replace(/["\\']/g, (c) => '\\' + c) + '"';
}

/** Quote an argument only when iptables-restore would otherwise split or change it. */
export function quoteIfNeeded(value: string): string {
  if (value !== '' && !/[\s"]/.test(value)) return value;
  return '"' + value.replace(/["\\]/g, (c) => '\\' + c) + '"';
}
