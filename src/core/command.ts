// Turning the arguments of one rule line into a command, the way iptables' getopt-based
// parser does: the command may stand anywhere among the options, long options may be
// abbreviated to any unambiguous prefix, and `-F`, `-X`, `-Z` take an optional chain.
import type { Counters, Family, RuleTarget } from './model.js';
import { quoteIfNeeded, type Tokens } from './tokenize.js';

export type CommandName = 'A' | 'I' | 'D' | 'R' | 'N' | 'X' | 'F' | 'Z' | 'P' | 'E' | 'C' | 'L' | 'S';

export interface Command {
  name: CommandName;
  chain?: string;
  /** -I/-D/-R/-Z position, 1-based. */
  position?: number;
  /** -P policy, -E new name. */
  value?: string;
  /** The rule specification (all other arguments), for -A/-I/-D (by spec)/-R. */
  spec: string[];
  /** The specification as written, when it is one contiguous run of the line. */
  specText?: string;
  counters?: Counters;
  /** The counters were given in the line (`-c P B`), not as a `[P:B]` prefix: iptables-restore sets them even without --counters. */
  inlineCounters?: boolean;
  target?: RuleTarget;
  /** `-4`/`--ipv4`, `-6`/`--ipv6` in the line: the families it is meant for (iptables-restore skips a line tagged for the other one). */
  families?: Family[];
}

export class CommandError extends Error {
  constructor(message: string, readonly token?: string) {
    super(message);
  }
}

const COMMAND_LONG: Record<string, CommandName> = {
  append: 'A', insert: 'I', delete: 'D', replace: 'R', 'new-chain': 'N', 'delete-chain': 'X',
  flush: 'F', zero: 'Z', policy: 'P', 'rename-chain': 'E', check: 'C', list: 'L', 'list-rules': 'S',
};
/** Other long options of the iptables core, needed so that prefixes resolve as getopt does. */
const OTHER_LONG = [
  'source', 'destination', 'src', 'dst', 'protocol', 'in-interface', 'jump', 'table', 'match',
  'numeric', 'out-interface', 'verbose', 'wait', 'wait-interval', 'exact', 'fragments', 'version',
  'help', 'line-numbers', 'modprobe', 'set-counters', 'goto', 'ipv4', 'ipv6',
];
const ALL_LONG = [...Object.keys(COMMAND_LONG), ...OTHER_LONG];

const RESTORE_FORBIDDEN: Record<string, string> = {
  table: 'the -t option cannot be used inside a restore file (use a *table line)',
  help: '--help is not a rule command', version: '--version is not a rule command',
  modprobe: '--modprobe is not allowed inside a restore file',
  wait: '--wait is not allowed inside a restore file (pass it on the command line)',
  'wait-interval': '--wait-interval is not allowed inside a restore file',
};

const longCache = new Map<string, string | undefined>();

/** Resolve `--opt` (or an unambiguous prefix of it) to the full long option name. */
export function resolveLong(name: string): string | undefined {
  if (longCache.has(name)) return longCache.get(name);
  let full: string | undefined;
  if (ALL_LONG.includes(name)) full = name;
  else {
    const hits = ALL_LONG.filter((o) => o.startsWith(name));
    full = hits.length === 1 ? hits[0] : undefined;
  }
  if (longCache.size < 10_000) longCache.set(name, full);
  return full;
}

const SHORT_COMMANDS = new Set(['A', 'I', 'D', 'R', 'N', 'X', 'F', 'Z', 'P', 'E', 'C', 'L', 'S']);

/** What an unquoted token means to the command parser. Cached: rulesets repeat their tokens. */
type Kind =
  | { k: 'plain' }
  | { k: 'command'; name: CommandName }
  | { k: 'forbidden'; why: string }
  | { k: 'counters' }
  | { k: 'family'; family: Family }
  | { k: 'jump' | 'goto' };

const PLAIN: Kind = { k: 'plain' };
/** Options of matches and targets that are also prefixes of a core long option. */
const EXTENSION_EXACT = new Set(['set']);
const kindCache = new Map<string, Kind>();

/** The kind of each two-character `-X`, by the code of X (no map lookup for the commonest options). */
const SHORT_KINDS: Kind[] = Array.from({ length: 128 }, (_, c) => computeKind(`-${String.fromCharCode(c)}`));

function kindOf(tok: string): Kind {
  if (tok.length === 0 || tok.charCodeAt(0) !== 45 /* - */) return PLAIN;
  if (tok.length === 2) {
    const c = tok.charCodeAt(1);
    return c < 128 ? SHORT_KINDS[c] : PLAIN;
  }
  let kind = kindCache.get(tok);
  if (kind) return kind;
  kind = computeKind(tok);
  if (kindCache.size < 10_000) kindCache.set(tok, kind);
  return kind;
}

function computeKind(tok: string): Kind {
  if (tok.length === 2) {
    const c = tok[1];
    if (SHORT_COMMANDS.has(c)) return { k: 'command', name: c as CommandName };
    if (c === 't') return { k: 'forbidden', why: RESTORE_FORBIDDEN.table };
    if (c === 'c') return { k: 'counters' };
    if (c === '4') return { k: 'family', family: 'ipv4' };
    if (c === '6') return { k: 'family', family: 'ipv6' };
    if (c === 'j') return { k: 'jump' };
    if (c === 'g') return { k: 'goto' };
    return PLAIN;
  }
  if (!tok.startsWith('--') || tok.length === 2) return PLAIN;
  const name = tok.slice(2).split('=')[0];
  // An extension's own option wins over an abbreviation of a core one (`-m recent --set`).
  if (EXTENSION_EXACT.has(name)) return PLAIN;
  const full = resolveLong(name);
  if (!full) return PLAIN;
  if (COMMAND_LONG[full]) return { k: 'command', name: COMMAND_LONG[full] };
  if (RESTORE_FORBIDDEN[full]) return { k: 'forbidden', why: RESTORE_FORBIDDEN[full] };
  if (full === 'set-counters') return { k: 'counters' };
  if (full === 'ipv4' || full === 'ipv6') return { k: 'family', family: full };
  if (full === 'jump') return { k: 'jump' };
  if (full === 'goto') return { k: 'goto' };
  return PLAIN;
}

const targets = new Map<string, RuleTarget>();

/** One frozen target object per (kind, name): rules never modify their target in place. */
export function sharedTarget(kind: 'jump' | 'goto', name: string): RuleTarget {
  const key = kind === 'jump' ? name : `goto ${name}`;
  let t = targets.get(key);
  if (!t) {
    t = Object.freeze({ kind, name });
    if (targets.size < 10_000) targets.set(key, t);
  }
  return t;
}

/** iptables' xs_has_arg: the next argument exists and does not look like an option. */
function hasArg(values: string[], i: number): boolean {
  return i < values.length && values[i][0] !== '-' && values[i][0] !== '!';
}

function parsePosition(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 0x7fffffff) {
    throw new CommandError(`invalid rule number '${value}'`, value);
  }
  return Number(value);
}

const COUNTER_VALUE = /^[0-9]+$/;

/**
 * Parse one rule line's tokens (the counter prefix already removed) into a Command.
 * `line` is the text the tokens came from, to keep the specification as written.
 */
export function parseCommand(tokens: Tokens, line: string): Command {
  return appendFastPath(tokens, line) ?? parseGeneral(tokens, line);
}

/**
 * The common line, `-A CHAIN spec…` with nothing special in the spec (no second command,
 * no counters, no forbidden option): the spec is one slice of the arguments and of the line.
 */
function appendFastPath(tokens: Tokens, line: string): Command | undefined {
  const values = tokens.values;
  if (values[0] !== '-A' || values.length < 2 || tokens.quoted?.[0] || tokens.quoted?.[1]) return undefined;
  let target: RuleTarget | undefined;
  for (let i = 2; i < values.length; i++) {
    const tok = values[i];
    if (tok.charCodeAt(0) !== 45 /* - */ || tokens.quoted?.[i]) continue;
    const kind = kindOf(tok);
    if (kind.k === 'plain') continue;
    if ((kind.k !== 'jump' && kind.k !== 'goto') || target || tok.includes('=')) return undefined;
    const value = values[i + 1];
    if (value === undefined || value === '') return undefined;
    target = sharedTarget(kind.k, value);
  }
  const spec = values.slice(2);
  const specText = spec.length ? line.slice(tokens.starts[2]).trimEnd() : '';
  return { name: 'A', chain: values[1], spec, specText, target };
}

function parseGeneral(tokens: Tokens, line: string): Command {
  const values = tokens.values;
  let cmd: Command | undefined;
  let cmdStart = -1;
  let cmdEnd = -1;
  const specIdx: number[] = [];
  let counters: Counters | undefined;
  let target: RuleTarget | undefined;
  let families: Family[] | undefined;

  for (let i = 0; i < values.length; i++) {
    const tok = values[i];
    const kind = tokens.quoted?.[i] ? PLAIN : kindOf(tok);
    switch (kind.k) {
      case 'command': {
        if (cmd) throw new CommandError(`more than one command ('-${cmd.name}' and '${tok}')`, tok);
        cmd = { name: kind.name, spec: [] };
        cmdStart = i;
        const eq = tok.startsWith('--') ? tok.indexOf('=') : -1;
        i = readCommandArgs(cmd, values, i + 1, eq >= 0 ? tok.slice(eq + 1) : undefined);
        cmdEnd = i + 1;
        continue;
      }
      case 'forbidden':
        throw new CommandError(kind.why, tok);
      case 'counters': {
        const p = values[i + 1];
        const b = values[i + 2];
        if (p === undefined || b === undefined || !COUNTER_VALUE.test(p) || !COUNTER_VALUE.test(b)) {
          throw new CommandError(`${tok} needs two counter values (packets bytes)`, tok);
        }
        if (counters) throw new CommandError('multiple -c flags not allowed', tok);
        counters = { packets: p, bytes: b };
        i += 2;
        continue;
      }
      case 'family':
        (families ??= []).push(kind.family);
        continue;
      case 'jump':
      case 'goto': {
        const eq = tok.startsWith('--') ? tok.indexOf('=') : -1;
        const value = eq >= 0 ? tok.slice(eq + 1) : values[i + 1];
        if (value === undefined || value === '') throw new CommandError(`${tok} needs a target`, tok);
        if (target) throw new CommandError(`more than one target ('${target.name}' and '${value}')`, tok);
        target = sharedTarget(kind.k, value);
        break;
      }
    }
    specIdx.push(i);
  }
  if (!cmd) {
    const first = values[0] ?? '';
    throw new CommandError(
      values.length === 0 ? 'empty command' : `no command in this line (expected -A, -I, -D, -N, … before '${first}')`,
      first,
    );
  }
  cmd.spec = specIdx.map((i) => values[i]);
  if (counters) {
    cmd.counters = counters;
    cmd.inlineCounters = true;
  }
  if (families) cmd.families = families;
  cmd.target = target;
  // Keep the text as written when the specification is the tail of the line after the command.
  const contiguous = specIdx.length > 0 && cmdStart === 0 && specIdx.every((v, k) => v === cmdEnd + k);
  if (contiguous && specIdx.length === values.length - cmdEnd) {
    cmd.specText = line.slice(tokens.starts[specIdx[0]]).trimEnd();
  } else {
    cmd.specText = cmd.spec.map(quoteIfNeeded).join(' ');
  }
  return cmd;
}

/** Read the chain and the other positional arguments of a command; returns the last index used. */
function readCommandArgs(cmd: Command, values: string[], i: number, attached?: string): number {
  const next = (what: string): string => {
    if (attached !== undefined) {
      const v = attached;
      attached = undefined;
      return v;
    }
    if (i >= values.length) throw new CommandError(`-${cmd.name} needs ${what}`);
    return values[i++];
  };
  switch (cmd.name) {
    case 'A':
    case 'C':
      cmd.chain = next('a chain name');
      break;
    case 'I':
      cmd.chain = next('a chain name');
      if (hasArg(values, i)) cmd.position = parsePosition(values[i++]);
      break;
    case 'D':
      cmd.chain = next('a chain name');
      if (hasArg(values, i)) cmd.position = parsePosition(values[i++]);
      break;
    case 'R':
      cmd.chain = next('a chain name');
      if (!hasArg(values, i)) throw new CommandError('-R needs a rule number');
      cmd.position = parsePosition(values[i++]);
      break;
    case 'N':
      cmd.chain = next('a chain name');
      break;
    case 'P':
      cmd.chain = next('a chain name');
      cmd.value = next('a policy (ACCEPT or DROP)');
      break;
    case 'E':
      cmd.chain = next('the old chain name');
      cmd.value = next('the new chain name');
      break;
    case 'X':
    case 'F':
    case 'L':
    case 'S':
      if (attached !== undefined) cmd.chain = next('');
      else if (hasArg(values, i)) cmd.chain = values[i++];
      break;
    case 'Z':
      if (attached !== undefined) cmd.chain = next('');
      else if (hasArg(values, i)) cmd.chain = values[i++];
      if (cmd.chain !== undefined && hasArg(values, i)) cmd.position = parsePosition(values[i++]);
      break;
  }
  return i - 1;
}
