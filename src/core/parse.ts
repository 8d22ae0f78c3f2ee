// iptables-restore input → Ruleset, with located errors.
//
// The file is read line by line as iptables-restore 1.8 reads it (`*table`, `:CHAIN POLICY
// [p:b]`, rule commands, `COMMIT`), and every command is carried out on an in-memory copy of
// the table so that `-I INPUT 3`, `-D`, `-R`, `-F`, `-X`, `-E` leave exactly the chain contents
// iptables-restore would leave. Nothing here touches the system.
//
// Problems are collected rather than thrown one at a time: the user sees every bad line of a
// file at once, each as `FILE:LINE: reason`. Where iptables-restore is laxer than is safe
// (an unterminated quote swallows the rest of the line) we report an error.
import {
  isBuiltinChain, isTableName, newRuleset, newTable,
  type Chain, type Counters, type Family, type Rule, type RuleTarget, type Ruleset, type SourceRef, type Table, type TableName,
} from './model.js';
import { tokenize } from './tokenize.js';
import { CommandError, parseCommand, sharedTarget, type Command } from './command.js';
import { checkRule, type Problem } from './validate.js';
import { sameRuleSpec } from './normalize.js';
import { STANDARD_TARGETS, isKnownTarget } from './targets.js';
import { ParseError, type Diagnostic } from '../errors.js';

export interface ParseOptions {
  /** Name used in messages (a path, or `<stdin>`). */
  file: string;
  family: Family;
  /**
   * Text printed by iptables-save (the live ruleset, the kernel's canonical form): the
   * per-rule checks are skipped, since the kernel already accepted every rule.
   */
  trusted?: boolean;
  /**
   * iptables-restore --noflush: each table the input names starts as this ruleset's table
   * (the live one) instead of empty, so that the input's commands act on it as they would on
   * the kernel — `-A` appends to what is there, `-D` and `-I N` count its rules, and declaring
   * a user chain that exists flushes it (a built-in chain's declaration only sets its policy).
   */
  base?: Ruleset;
  /** An input with no tables (empty, or only comments) is an empty ruleset, as iptables-restore takes it, not an error. */
  allowEmpty?: boolean;
  /** Read with --counters (the twin's -c): a `[P:B]` prefix counts, and one beside `-c P B` in the rule is an error, as in iptables-restore. */
  counters?: boolean;
}

/** A line tagged for the other family (`-6` in an IPv4 input, `-4` in an IPv6 one): skipped, as iptables-restore skips it. */
export interface SkippedLine {
  line: number;
  table: string;
  /** The family the line is for. */
  family: Family;
  /** The line, cut to a short excerpt. */
  text: string;
}

export interface ParseResult {
  ruleset: Ruleset;
  warnings: Diagnostic[];
  skipped: SkippedLine[];
}

const MAX_ERRORS = 50;
const COUNTERS = /^\[(\d+):(\d+)\]$/;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;
const CHAIN_NAME_MAX = 28; // XT_EXTENSION_MAXNAMELEN - 1

class Stop extends Error {}

/** Parse restore-format text. Throws ParseError listing every problem found. */
export function parseRuleset(text: string, opts: ParseOptions): ParseResult {
  const p = createParser(opts);
  p.push(text);
  return p.end();
}

/** A parse fed piece by piece: the same result as parseRuleset of the pieces joined. */
export interface StreamParser {
  push(chunk: string): void;
  /** The result; throws ParseError listing every problem found. */
  end(): ParseResult;
}

/**
 * Parse text that arrives in pieces (iptables-save's output while it is being written), so
 * that parsing overlaps the writer. Lines are cut at the last newline of what has arrived.
 */
export function createParser(opts: ParseOptions): StreamParser {
  const p = new Parser(opts);
  let rest = '';
  let stopped = false;
  const guard = (f: () => void) => {
    if (stopped) return;
    try {
      f();
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      stopped = true;
    }
  };
  return {
    push(chunk) {
      const cut = chunk.lastIndexOf('\n');
      if (cut < 0) {
        rest += chunk;
        return;
      }
      const block = rest + chunk.slice(0, cut);
      rest = chunk.slice(cut + 1);
      guard(() => p.feed(block));
    },
    end() {
      guard(() => {
        if (rest !== '') p.feed(rest);
        p.finish();
      });
      if (p.errors.length) throw new ParseError(p.errors);
      return { ruleset: p.ruleset, warnings: p.warnings, skipped: p.skipped };
    },
  };
}

class Parser {
  readonly ruleset: Ruleset;
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  readonly skipped: SkippedLine[] = [];
  private table: Table | undefined;
  /** Chains of the current table that came from opts.base and this input has not declared yet. */
  private fromBase = new Set<Chain>();
  private tableLine = 0;
  private lineNo = 0;
  private blank = true;
  /** The chain of the previous trusted `-A` line and its `-A NAME ` prefix (rules come chain by chain). */
  private lastChain: Chain | undefined;
  private lastPrefix = '';

  constructor(private readonly opts: ParseOptions) {
    this.ruleset = newRuleset(opts.family);
  }

  private error(reason: string, token?: string, line = this.lineNo): void {
    this.errors.push({ file: this.opts.file, line, reason, token });
    if (this.errors.length >= MAX_ERRORS) {
      this.errors.push({ file: this.opts.file, line, reason: `too many errors, stopping` });
      throw new Stop();
    }
  }

  private warn(reason: string, token?: string): void {
    this.warnings.push({ file: this.opts.file, line: this.lineNo, reason, token });
  }

  /** Whole lines (no trailing newline: the text up to one). */
  feed(text: string): void {
    // One scan of the whole text; per-line checks only when it finds something. Text
    // printed by iptables-save is taken as it is (a comment may hold any byte).
    const binary = !this.opts.trusted && CONTROL.test(text);
    // line by line rather than split('\n'): an array of every line would outlive many
    // scavenges and be copied by each
    for (let from = 0; from <= text.length; ) {
      let to = text.indexOf('\n', from);
      if (to < 0) to = text.length;
      const line = text.slice(from, to);
      from = to + 1;
      this.lineNo++;
      if (binary && !this.printable(line)) continue;
      if (this.blank && line.trim() !== '') this.blank = false;
      this.line(line);
    }
  }

  finish(): void {
    if (this.table) {
      this.error(`table '${this.table.name}' opened at line ${this.tableLine} has no COMMIT`, undefined, this.lineNo);
    }
    if (this.ruleset.tables.size === 0 && this.errors.length === 0 && !this.opts.allowEmpty) {
      this.error(this.blank ? 'empty input: no tables' : 'no tables: the input has only comments and blank lines');
    }
  }

  /** False (and an error) when the line holds NUL or other control characters. */
  private printable(line: string): boolean {
    const bad = CONTROL.exec(line);
    if (bad) {
      const code = bad[0].charCodeAt(0);
      if (code === 13 && bad.index === line.length - 1) {
        this.error('line ends with a carriage return (Windows line endings); convert the file with dos2unix');
      } else {
        this.error(`${code === 0 ? 'NUL byte' : `control character 0x${code.toString(16).padStart(2, '0')}`} at column ${bad.index + 1}: binary input?`);
      }
      return false;
    }
    return true;
  }

  private line(line: string): void {
    const c0 = line.charCodeAt(0);
    if (c0 === 45 /* - */) return this.table ? this.rule(line) : this.outside(line.trim());
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (line.startsWith('*')) return this.openTable(line);
    if (trimmed === 'COMMIT') return this.commit();
    if (!this.table) return this.outside(trimmed);
    if (line.startsWith(':')) return this.declareChain(line);
    this.rule(line);
  }

  private outside(trimmed: string): void {
    const what = trimmed.startsWith(':') ? 'chain declaration' : trimmed.startsWith('-') || trimmed.startsWith('[') ? 'rule' : 'line';
    this.error(`${what} outside a table (no *table line before it)`, trimmed.split(/\s+/)[0]);
  }

  private openTable(line: string): void {
    this.lastChain = undefined;
    const name = line.slice(1).split(/[ \t]/)[0];
    if (this.table) {
      this.error(`table '${this.table.name}' opened at line ${this.tableLine} has no COMMIT before '*${name}'`);
      this.table = undefined;
    }
    if (!isTableName(name)) {
      this.error(`unknown table '${name}' (expected raw, mangle, filter, nat or security)`, name);
      return this.skipUnknownTable();
    }
    if (this.ruleset.tables.has(name)) {
      this.error(`table '${name}' appears twice in the input`, name);
      return this.skipUnknownTable();
    }
    const at = { file: this.opts.file, line: this.lineNo };
    const base = this.opts.base?.tables.get(name);
    this.table = base ? copyTable(base, at) : newTable(name, at);
    this.fromBase = new Set(base ? this.table.chains.values() : []);
    this.tableLine = this.lineNo;
    this.ruleset.tables.set(name, this.table);
  }

  /** Keep parsing the block of a rejected table without attaching it to the ruleset. */
  private skipUnknownTable(): void {
    this.table = newTable('filter');
    this.tableLine = this.lineNo;
  }

  private commit(): void {
    this.lastChain = undefined;
    if (!this.table) return this.error('COMMIT outside a table');
    this.table = undefined;
  }

  private declareChain(line: string): void {
    const table = this.table!;
    const parts = line.slice(1).trim().split(/[ \t]+/);
    const [name, policy, counters, ...extra] = parts;
    if (!name) return this.error('chain declaration without a name');
    if (policy === undefined) return this.error(`chain '${name}' declared without a policy (use '-' for a user chain)`, name);
    let ctr: Counters | undefined;
    if (counters !== undefined) {
      ctr = this.counters(counters);
      if (!ctr) return;
    }
    if (extra.length) return this.error(`unexpected '${extra.join(' ')}' after the chain counters`, extra[0]);
    const existing = table.chains.get(name);
    const builtin = isBuiltinChain(table.name, name);
    if (existing && this.fromBase.delete(existing)) return this.redeclare(existing, policy, ctr);
    if (builtin) {
      if (existing?.source) return this.error(`chain '${name}' declared twice (first at line ${existing.source.line})`, name);
      if (policy !== '-' && policy !== 'ACCEPT' && policy !== 'DROP') {
        return this.error(`invalid policy '${policy}' for chain '${name}' (ACCEPT or DROP)`, policy);
      }
      const chain = existing!;
      chain.policy = policy === '-' ? null : policy;
      chain.counters = ctr;
      chain.source = { file: this.opts.file, line: this.lineNo };
      return;
    }
    if (existing) {
      const where = existing.source ? ` (first at line ${existing.source.line})` : '';
      return this.error(`chain '${name}' declared twice${where}`, name);
    }
    if (!this.validChainName(name)) return;
    if (policy !== '-') {
      return this.error(`policy '${policy}' on user chain '${name}': only built-in chains have policies (use '-')`, policy);
    }
    table.chains.set(name, { name, builtin: false, policy: null, counters: ctr, rules: [], source: { file: this.opts.file, line: this.lineNo } });
  }

  /** --noflush: a chain that exists is declared: a user chain is flushed, a built-in one gets its policy. */
  private redeclare(chain: Chain, policy: string, ctr: Counters | undefined): void {
    if (chain.builtin) {
      if (policy !== '-' && policy !== 'ACCEPT' && policy !== 'DROP') {
        return this.error(`invalid policy '${policy}' for chain '${chain.name}' (ACCEPT or DROP)`, policy);
      }
      if (policy !== '-') chain.policy = policy;
    } else {
      if (policy !== '-') return this.error(`policy '${policy}' on user chain '${chain.name}': only built-in chains have policies (use '-')`, policy);
      chain.rules = [];
    }
    chain.counters = ctr;
    chain.source = { file: this.opts.file, line: this.lineNo };
  }

  private counters(text: string): Counters | undefined {
    const m = COUNTERS.exec(text);
    if (!m) {
      this.error(`malformed counters '${text}' (expected [packets:bytes])`, text);
      return undefined;
    }
    return { packets: m[1], bytes: m[2] };
  }

  private validChainName(name: string): boolean {
    if (name.length > CHAIN_NAME_MAX) {
      this.error(`chain name '${name}' is too long (${name.length} characters, at most ${CHAIN_NAME_MAX})`, name);
      return false;
    }
    if (name.startsWith('-') || name.startsWith('!')) {
      this.error(`chain name '${name}' may not start with '${name[0]}'`, name);
      return false;
    }
    if (STANDARD_TARGETS.has(name) || isKnownTarget(name, this.opts.family)) {
      this.error(`chain name '${name}' clashes with a target of the same name`, name);
      return false;
    }
    return true;
  }

  private rule(line: string): void {
    if (this.opts.trusted && line.startsWith('-A ') && this.trustedAppend(line)) return;
    let rest = line;
    let prefix: Counters | undefined;
    const lead = line.charCodeAt(0) === 45 /* - */ ? line : line.trimStart();
    if (lead.startsWith('[')) {
      const close = lead.indexOf(']');
      const text = close >= 0 ? lead.slice(0, close + 1) : lead.split(/\s/)[0];
      prefix = this.counters(text);
      if (!prefix) return;
      rest = ' '.repeat(line.length - lead.length + close + 1) + lead.slice(close + 1);
    }
    const tok = tokenize(rest);
    if (!tok.ok) return this.error(`${tok.reason} (opened at column ${tok.column})`);
    let cmd: Command;
    try {
      cmd = parseCommand(tok.tokens, rest);
    } catch (e) {
      if (e instanceof CommandError) return this.error(e.message, e.token);
      throw e;
    }
    const other = cmd.families?.find((f) => f !== this.opts.family);
    if (other) {
      this.skipped.push({ line: this.lineNo, table: this.table!.name, family: other, text: line.trim().slice(0, 80) });
      return;
    }
    if (prefix && cmd.inlineCounters) {
      // iptables-restore: with --counters both are a second -c; without, the prefix is not read
      if (this.opts.counters) return this.error('multiple -c flags not allowed: a [packets:bytes] prefix (read with --counters) and -c in the rule');
    } else if (prefix) cmd.counters = prefix;
    this.execute(cmd);
  }

  /**
   * `-A CHAIN spec` as iptables-save prints it: the spec is the rest of the line and the
   * target the word after its only `-j`/`-g` outside quotes; no tokenizing needed. Anything
   * less plain (two -j, an unknown chain, trailing blanks) goes the general way.
   */
  private trustedAppend(line: string): boolean {
    const last = line.charCodeAt(line.length - 1);
    if (last === 32 || last === 9) return false;
    let chain = this.lastChain;
    let sp = this.lastPrefix.length - 1;
    if (!chain || !line.startsWith(this.lastPrefix)) {
      sp = line.indexOf(' ', 3);
      chain = this.table!.chains.get(sp < 0 ? line.slice(3) : line.slice(3, sp));
      if (!chain) return false;
      if (sp < 0) {
        chain.rules.push(new ParsedRule(chain.name, '', this.opts.file, this.lineNo));
        return true;
      }
      this.lastChain = chain;
      this.lastPrefix = line.slice(0, sp + 1);
    }
    const next = line.charCodeAt(sp + 1);
    if (next === 32 || next === 9) return false;
    const at = line.includes('"') ? targetOutsideQuotes(line, sp) : targetAt(line, sp);
    if (at === -2) return false;
    let target: RuleTarget | undefined;
    if (at >= 0) {
      const first = line.charCodeAt(at + 4);
      if (first === 32 || first === 45 /* - */ || first === 34 /* " */ || first === 33 /* ! */) return false;
      const end = line.indexOf(' ', at + 4);
      target = sharedTarget(line.charCodeAt(at + 2) === 106 /* j */ ? 'jump' : 'goto', line.slice(at + 4, end < 0 ? undefined : end));
    }
    chain.rules.push(new ParsedRule(chain.name, line.slice(sp + 1), this.opts.file, this.lineNo, target));
    return true;
  }

  private chainOrError(name: string | undefined, cmdName: string): Chain | undefined {
    const table = this.table!;
    if (name === undefined) {
      this.error(`-${cmdName} needs a chain name`);
      return undefined;
    }
    const chain = table.chains.get(name);
    if (!chain) this.error(`chain '${name}' does not exist in table '${table.name}'`, name);
    return chain;
  }

  private makeRule(cmd: Command, chain: Chain): Rule | undefined {
    const problems: Problem[] = this.opts.trusted ? [] : checkRule(cmd, chain, this.table!, this.opts.family);
    let text = cmd.specText ?? '';
    for (const p of problems) {
      if (p.severity === 'error') this.error(p.reason, p.token);
      else this.warn(p.reason, p.token);
      if (p.rewrite) text = p.rewrite.text;
    }
    if (problems.some((p) => p.severity === 'error')) return undefined;
    const rule = new ParsedRule(chain.name, text, this.opts.file, this.lineNo, cmd.target, cmd.counters);
    if (cmd.inlineCounters) rule.inlineCounters = true;
    return rule;
  }

  private execute(cmd: Command): void {
    this.lastChain = undefined;
    const table = this.table!;
    switch (cmd.name) {
      case 'A': {
        const chain = this.chainOrError(cmd.chain, 'A');
        const rule = chain && this.makeRule(cmd, chain);
        if (rule) chain!.rules.push(rule);
        return;
      }
      case 'I': {
        const chain = this.chainOrError(cmd.chain, 'I');
        if (!chain) return;
        const pos = cmd.position ?? 1;
        if (pos > chain.rules.length + 1) {
          return this.error(`index of insertion too big: ${pos} (chain '${chain.name}' has ${chain.rules.length} rules here)`);
        }
        const rule = this.makeRule(cmd, chain);
        if (rule) chain.rules.splice(pos - 1, 0, rule);
        return;
      }
      case 'R': {
        const chain = this.chainOrError(cmd.chain, 'R');
        if (!chain) return;
        if (cmd.position! > chain.rules.length) {
          return this.error(`index of replacement too big: ${cmd.position} (chain '${chain.name}' has ${chain.rules.length} rules here)`);
        }
        const rule = this.makeRule(cmd, chain);
        if (rule) chain.rules[cmd.position! - 1] = rule;
        return;
      }
      case 'D': {
        const chain = this.chainOrError(cmd.chain, 'D');
        if (!chain) return;
        if (cmd.position !== undefined) {
          if (cmd.position > chain.rules.length) {
            return this.error(`index of deletion too big: ${cmd.position} (chain '${chain.name}' has ${chain.rules.length} rules here)`);
          }
          chain.rules.splice(cmd.position - 1, 1);
          return;
        }
        const idx = chain.rules.findIndex((r) => sameRuleSpec(r.args, cmd.spec, this.opts.family));
        if (idx < 0) return this.error(`-D: no matching rule in chain '${chain.name}' to delete`);
        chain.rules.splice(idx, 1);
        return;
      }
      case 'N': {
        if (cmd.chain === undefined) return this.error('-N needs a chain name');
        const existing = table.chains.get(cmd.chain);
        if (existing) return this.error(`chain '${cmd.chain}' already exists`, cmd.chain);
        if (!this.validChainName(cmd.chain)) return;
        table.chains.set(cmd.chain, { name: cmd.chain, builtin: false, policy: null, rules: [], source: { file: this.opts.file, line: this.lineNo } });
        return;
      }
      case 'X': {
        const victims = cmd.chain === undefined
          ? [...table.chains.values()].filter((c) => !c.builtin)
          : [this.chainOrError(cmd.chain, 'X')].filter((c): c is Chain => c !== undefined);
        for (const c of victims) {
          if (c.builtin) return this.error(`cannot delete built-in chain '${c.name}'`, c.name);
          if (c.rules.length) return this.error(`cannot delete chain '${c.name}': it still has ${c.rules.length} rules (flush it first)`, c.name);
        }
        for (const c of victims) {
          const user = this.referrer(table, c.name, victims);
          if (user) return this.error(`cannot delete chain '${c.name}': rules in chain '${user}' still jump to it`, c.name);
        }
        for (const c of victims) table.chains.delete(c.name);
        return;
      }
      case 'F': {
        const chains = cmd.chain === undefined ? [...table.chains.values()] : [this.chainOrError(cmd.chain, 'F')];
        for (const c of chains) if (c) c.rules = [];
        return;
      }
      case 'Z': {
        const chains = cmd.chain === undefined ? [...table.chains.values()] : [this.chainOrError(cmd.chain, 'Z')];
        for (const c of chains) {
          if (!c) continue;
          if (cmd.position !== undefined) {
            const r = c.rules[cmd.position - 1];
            if (!r) return this.error(`-Z: chain '${c.name}' has no rule ${cmd.position}`, String(cmd.position));
            if (r.counters) r.counters = { packets: '0', bytes: '0' };
            continue;
          }
          if (c.counters) c.counters = { packets: '0', bytes: '0' };
          for (const r of c.rules) if (r.counters) r.counters = { packets: '0', bytes: '0' };
        }
        return;
      }
      case 'P': {
        const chain = this.chainOrError(cmd.chain, 'P');
        if (!chain) return;
        if (!chain.builtin) return this.error(`policy on user chain '${chain.name}': only built-in chains have policies`, chain.name);
        if (cmd.value !== 'ACCEPT' && cmd.value !== 'DROP') return this.error(`invalid policy '${cmd.value}' (ACCEPT or DROP)`, cmd.value);
        chain.policy = cmd.value;
        return;
      }
      case 'E': {
        const chain = this.chainOrError(cmd.chain, 'E');
        if (!chain) return;
        if (chain.builtin) return this.error(`cannot rename built-in chain '${chain.name}'`, chain.name);
        const to = cmd.value!;
        if (table.chains.has(to)) return this.error(`cannot rename '${chain.name}' to '${to}': that chain exists`, to);
        if (!this.validChainName(to)) return;
        this.renameChain(table, chain, to);
        return;
      }
      case 'C':
      case 'L':
      case 'S':
        return this.error(`-${cmd.name} is not allowed in a restore file`, `-${cmd.name}`);
    }
  }

  private referrer(table: Table, name: string, except: Chain[]): string | undefined {
    for (const c of table.chains.values()) {
      if (except.includes(c)) continue;
      if (c.rules.some((r) => r.target?.name === name)) return c.name;
    }
    return undefined;
  }

  private renameChain(table: Table, chain: Chain, to: string): void {
    const from = chain.name;
    const chains = [...table.chains.entries()].map(([k, v]) => (k === from ? [to, v] : [k, v]) as [string, Chain]);
    table.chains.clear();
    for (const [k, v] of chains) table.chains.set(k, v);
    chain.name = to;
    for (const r of chain.rules) r.chain = to;
    for (const c of table.chains.values()) {
      for (const r of c.rules) {
        if (r.target?.name !== from) continue;
        r.target = { ...r.target, name: to };
        const i = r.args.findIndex((a, k) => a === from && k > 0 && ['-j', '-g', '--jump', '--goto'].includes(r.args[k - 1]));
        if (i > 0) r.args = [...r.args.slice(0, i), to, ...r.args.slice(i + 1)];
        r.text = r.text.replace(new RegExp(`(^|\\s)(-j|-g|--jump|--goto)(\\s+)${escapeRe(from)}(?=\\s|$)`), `$1$2$3${to}`);
      }
    }
  }
}

/**
 * A rule as read from a file. Its arguments are split from its text again when first asked
 * for, rather than kept from parsing: most rules of a large ruleset are never looked at
 * token by token after parsing (user chains go through merge whole), and not holding ten
 * small strings per rule is most of what keeps parsing 100k rules fast. Splitting the text
 * gives back exactly the arguments it was written with or rebuilt from. Likewise its source
 * reference is made when asked for (error messages), not stored as an object per rule.
 */
class ParsedRule implements Rule {
  #args: string[] | undefined;
  #file: string | undefined;
  #line: number;
  target?: RuleTarget;
  counters?: Counters;
  inlineCounters?: boolean;

  /** file undefined: a rule of the base ruleset (--noflush replay) that has no source. */
  constructor(public chain: string, public text: string, file: string | undefined, line: number, target?: RuleTarget, counters?: Counters) {
    this.#file = file;
    this.#line = line;
    if (target) this.target = target;
    if (counters) this.counters = counters;
  }

  get args(): string[] {
    if (this.#args === undefined) {
      const t = tokenize(this.text, true);
      this.#args = t.ok ? t.tokens.values : [];
    }
    return this.#args;
  }

  set args(value: string[]) {
    this.#args = value;
  }

  get source(): SourceRef | undefined {
    return this.#file === undefined ? undefined : { file: this.#file, line: this.#line };
  }
}

/** Where ` -j ` or ` -g ` stands in a line without quotes, from `from`: -1 none, -2 more than one. */
function targetAt(line: string, from: number): number {
  const j = line.indexOf(' -j ', from);
  const g = line.indexOf(' -g ', from);
  if (j >= 0 ? g >= 0 || line.indexOf(' -j ', j + 1) >= 0 : g >= 0 && line.indexOf(' -g ', g + 1) >= 0) return -2;
  return j >= 0 ? j : g;
}

/** targetAt for a line with double quotes (tokenize.ts's rules): -2 also for an unterminated quote. */
function targetOutsideQuotes(line: string, from: number): number {
  let found = -1;
  let quoted = false;
  for (let i = from; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (quoted) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) quoted = false;
    } else if (c === 34) {
      quoted = true;
    } else if (c === 32 && line.charCodeAt(i + 1) === 45 && (line.charCodeAt(i + 2) === 106 || line.charCodeAt(i + 2) === 103) && line.charCodeAt(i + 3) === 32) {
      if (found >= 0) return -2;
      found = i;
    }
  }
  return quoted ? -2 : found;
}

/** A table of the base ruleset to replay commands on: its own chains and rules (commands change them). */
function copyTable(t: Table, source: SourceRef): Table {
  const chains = new Map<string, Chain>();
  for (const c of t.chains.values()) {
    chains.set(c.name, { ...c, rules: c.rules.map((r) => new ParsedRule(r.chain, r.text, r.source?.file, r.source?.line ?? 0, r.target, r.counters)) });
  }
  return { name: t.name, chains, source };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export type { TableName };
