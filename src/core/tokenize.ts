// Splitting a rule line into arguments exactly as iptables-restore 1.8 does
// (xshared.c add_param_to_argv): blanks separate arguments; a double quote opens a quoted
// part in which a backslash takes the next character literally; the closing quote ends the
// argument (so `"a b"c` is two arguments and `""` is one empty argument); outside quotes a
// backslash is an ordinary character.
//
// One deliberate difference: iptables-restore silently accepts an unterminated quote and
// swallows the rest of the line into one argument (`--comment "x -j ACCEPT` loads a rule with
// no target). We report it instead.

export interface Token {
  value: string;
  /** Offset of the token's first character (an opening quote included) in the line. */
  start: number;
  quoted: boolean;
}

export type TokenizeResult = { ok: true; tokens: Token[] } | { ok: false; reason: string; column: number };

const SIMPLE = /^[^"]*$/;

export function tokenize(line: string): TokenizeResult {
  if (SIMPLE.test(line)) return { ok: true, tokens: splitBlanks(line) };
  const tokens: Token[] = [];
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
        tokens.push({ value: buf, start, quoted: true });
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
        tokens.push({ value: buf, start, quoted });
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
  if (inToken) tokens.push({ value: buf, start, quoted });
  return { ok: true, tokens };
}

function splitBlanks(line: string): Token[] {
  const tokens: Token[] = [];
  const re = /[^ \t\n]+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) tokens.push({ value: m[0], start: m.index, quoted: false });
  return tokens;
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
