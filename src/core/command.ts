// Turning the arguments of one rule line into a command, the way iptables' getopt-based
// parser does: the command may stand anywhere among the options, long options may be
// abbreviated to any unambiguous prefix, and `-F`, `-X`, `-Z` take an optional chain.
import type { Counters, RuleTarget } from './model.js';
import { quoteIfNeeded, type Token } from './tokenize.js';

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
  target?: RuleTarget;
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

/** Resolve `--opt` (or an unambiguous prefix of it) to the full long option name. */
export function resolveLong(name: string): string | undefined {
  if (ALL_LONG.includes(name)) return name;
  const hits = ALL_LONG.filter((o) => o.startsWith(name));
  return hits.length === 1 ? hits[0] : undefined;
}

const SHORT_COMMANDS = new Set(['A', 'I', 'D', 'R', 'N', 'X', 'F', 'Z', 'P', 'E', 'C', 'L', 'S']);

function commandOf(tok: string): CommandName | undefined {
  if (tok.length === 2 && tok[0] === '-' && SHORT_COMMANDS.has(tok[1])) return tok[1] as CommandName;
  if (tok.startsWith('--') && tok.length > 2) {
    const full = resolveLong(tok.slice(2).split('=')[0]);
    if (full && COMMAND_LONG[full]) return COMMAND_LONG[full];
  }
  return undefined;
}

/** iptables' xs_has_arg: the next argument exists and does not look like an option. */
function hasArg(tokens: Token[], i: number): boolean {
  return i < tokens.length && !tokens[i].value.startsWith('-') && !tokens[i].value.startsWith('!');
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
export function parseCommand(tokens: Token[], line: string): Command {
  let cmd: Command | undefined;
  let cmdStart = -1;
  let cmdEnd = -1;
  const specIdx: number[] = [];
  let counters: Counters | undefined;
  let target: RuleTarget | undefined;

  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i].value;
    const name = tokens[i].quoted ? undefined : commandOf(tok);
    if (name) {
      if (cmd) throw new CommandError(`more than one command ('-${cmd.name}' and '${tok}')`, tok);
      cmd = { name, spec: [] };
      cmdStart = i;
      const eq = tok.startsWith('--') ? tok.indexOf('=') : -1;
      let argv: string | undefined;
      if (eq >= 0) argv = tok.slice(eq + 1);
      i = readCommandArgs(cmd, tokens, i + 1, argv);
      cmdEnd = i + 1;
      continue;
    }
    if (!tokens[i].quoted && tok.startsWith('--') && tok.length > 2) {
      const full = resolveLong(tok.slice(2).split('=')[0]);
      if (full && RESTORE_FORBIDDEN[full]) throw new CommandError(RESTORE_FORBIDDEN[full], tok);
    }
    if (!tokens[i].quoted && tok === '-t') throw new CommandError(RESTORE_FORBIDDEN.table, tok);
    if (!tokens[i].quoted && (tok === '-c' || longIs(tok, 'set-counters'))) {
      const p = tokens[i + 1]?.value;
      const b = tokens[i + 2]?.value;
      if (p === undefined || b === undefined || !COUNTER_VALUE.test(p) || !COUNTER_VALUE.test(b)) {
        throw new CommandError(`${tok} needs two counter values (packets bytes)`, tok);
      }
      counters = { packets: p, bytes: b };
      i += 2;
      continue;
    }
    if (!tokens[i].quoted && (tok === '-j' || tok === '-g' || longIs(tok, 'jump') || longIs(tok, 'goto'))) {
      const eq = tok.indexOf('=');
      const value = eq >= 0 && tok.startsWith('--') ? tok.slice(eq + 1) : tokens[i + 1]?.value;
      if (value === undefined || value === '') throw new CommandError(`${tok} needs a target`, tok);
      if (target) throw new CommandError(`more than one target ('${target.name}' and '${value}')`, tok);
      target = { kind: tok === '-g' || longIs(tok, 'goto') ? 'goto' : 'jump', name: value };
    }
    specIdx.push(i);
  }
  if (!cmd) {
    const first = tokens[0]?.value ?? '';
    throw new CommandError(
      tokens.length === 0 ? 'empty command' : `no command in this line (expected -A, -I, -D, -N, … before '${first}')`,
      first,
    );
  }
  cmd.spec = specIdx.map((i) => tokens[i].value);
  cmd.counters = counters;
  cmd.target = target;
  // Keep the text as written when the specification is the tail of the line after the command.
  const contiguous = specIdx.length > 0 && cmdStart === 0 && specIdx.every((v, k) => v === cmdEnd + k);
  if (contiguous && specIdx.length === tokens.length - cmdEnd) {
    cmd.specText = line.slice(tokens[specIdx[0]].start).replace(/[\s]+$/, '');
  } else {
    cmd.specText = cmd.spec.map(quoteIfNeeded).join(' ');
  }
  return cmd;
}

function longIs(tok: string, full: string): boolean {
  return tok.startsWith('--') && tok.length > 2 && resolveLong(tok.slice(2).split('=')[0]) === full;
}

/** Read the chain and the other positional arguments of a command; returns the last index used. */
function readCommandArgs(cmd: Command, tokens: Token[], i: number, attached?: string): number {
  const next = (what: string): string => {
    if (attached !== undefined) {
      const v = attached;
      attached = undefined;
      return v;
    }
    if (i >= tokens.length) throw new CommandError(`-${cmd.name} needs ${what}`);
    return tokens[i++].value;
  };
  switch (cmd.name) {
    case 'A':
    case 'C':
      cmd.chain = next('a chain name');
      break;
    case 'I':
      cmd.chain = next('a chain name');
      if (hasArg(tokens, i)) cmd.position = parsePosition(tokens[i++].value);
      break;
    case 'D':
      cmd.chain = next('a chain name');
      if (hasArg(tokens, i)) cmd.position = parsePosition(tokens[i++].value);
      break;
    case 'R':
      cmd.chain = next('a chain name');
      if (!hasArg(tokens, i)) throw new CommandError('-R needs a rule number');
      cmd.position = parsePosition(tokens[i++].value);
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
      else if (hasArg(tokens, i)) cmd.chain = tokens[i++].value;
      break;
    case 'Z':
      if (attached !== undefined) cmd.chain = next('');
      else if (hasArg(tokens, i)) cmd.chain = tokens[i++].value;
      if (cmd.chain !== undefined && hasArg(tokens, i)) cmd.position = parsePosition(tokens[i++].value);
      break;
  }
  return i - 1;
}
