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


/**
 * `share`: intern option words, for arguments that are kept (a rule's args); tokens looked at
 * once while parsing are not worth the lookup.
 */
export function tokenize(line: string, share = false): TokenizeResult {
  if (!line.includes('"')) return { ok: true, tokens: splitBlanks(line, share) };
  const values: string[] = [];
  const starts: number[] = [];
  const quotedFlags: boolean[] = [];
  const n = line.length;
  let buf = '';
  let inToken = false;
  let start = 0;
  let i = 0;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10) {
      if (inToken) {
        values.push(buf);
        starts.push(start);
        quotedFlags.push(false); // a token with a quoted part ended at its closing quote
        buf = '';
        inToken = false;
      }
      i++;
      continue;
    }
    if (!inToken) {
      inToken = true;
      start = i;
    }
    if (c !== 34 /* " */) {
      // a plain run, up to a blank or a quote
      const from = i;
      while (i < n) {
        const d = line.charCodeAt(i);
        if (d === 32 || d === 9 || d === 10 || d === 34) break;
        i++;
      }
      buf += line.slice(from, i);
      continue;
    }
    // a quoted part: a backslash takes the next character literally; the closing quote ends the argument
    const quoteAt = i++;
    let from = i;
    for (;;) {
      if (i >= n) return { ok: false, reason: 'unterminated quote', column: quoteAt + 1 };
      const d = line.charCodeAt(i);
      if (d === 92 /* \\ */ && i + 1 < n) {
        buf += line.slice(from, i) + line[i + 1];
        i += 2;
        from = i;
      } else if (d === 34) {
        break;
      } else {
        i++;
      }
    }
    values.push(buf + line.slice(from, i));
    starts.push(start);
    quotedFlags.push(true);
    buf = '';
    inToken = false;
    i++;
  }
  if (inToken) {
    values.push(buf);
    starts.push(start);
    quotedFlags.push(false);
  }
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

function splitBlanks(line: string, share: boolean): Tokens {
  if (line.includes('\t') || line.includes('\n')) return splitAnyBlanks(line, share);
  // the usual line: arguments separated by spaces, found by indexOf (measured fastest)
  const values: string[] = [];
  const starts: number[] = [];
  for (let from = 0; ; ) {
    const end = line.indexOf(' ', from);
    const stop = end < 0 ? line.length : end;
    if (stop > from) {
      const v = line.slice(from, stop);
      values.push(share ? intern(v) : v);
      starts.push(from);
    }
    if (end < 0) return { values, starts };
    from = end + 1;
  }
}

function splitAnyBlanks(line: string, share: boolean): Tokens {
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
    const v = line.slice(start, i);
    values.push(share ? intern(v) : v);
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
