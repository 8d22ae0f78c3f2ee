// Ruleset → iptables-save text, deterministically: tables in the order they were read,
// built-in chains in hook order, user chains sorted by name as iptables-save sorts them
// (strcmp), then each chain's rules in that order. A rule is written with the text it was
// read with, so parse → write reproduces an iptables-save file byte for byte (apart from
// the `#` comment lines, which are not part of the ruleset).
import { chainsInSaveOrder, type Chain, type Counters, type Rule, type Ruleset, type Table } from './model.js';

export interface WriteOptions {
  /** Print rule counters (`[p:b] -A …`) where the rule has them, like iptables-save -c. */
  counters?: boolean;
  /** Only these tables. */
  tables?: readonly string[];
}

export function writeRuleset(rs: Ruleset, opts: WriteOptions = {}): string {
  return writeRulesetWithSources(rs, opts).text;
}

/** The text, and for each of its lines (index = line number - 1) the rule it came from, if any. */
export function writeRulesetWithSources(rs: Ruleset, opts: WriteOptions = {}): { text: string; rules: Array<Rule | undefined> } {
  const out: string[] = [];
  const rules: Array<Rule | undefined> = [];
  for (const table of rs.tables.values()) {
    if (opts.tables && !opts.tables.includes(table.name)) continue;
    writeTable(table, out, opts, rules);
  }
  return { text: out.length ? out.join('\n') + '\n' : '', rules };
}

/** The text of writeRuleset handed out in pieces (a chain's rules at a time), never made whole. */
export function writeRulesetPieces(rs: Ruleset, each: (piece: string) => void): void {
  for (const table of rs.tables.values()) {
    const chains = chainsInSaveOrder(table);
    each(`*${table.name}\n${chains.map((c) => chainLine(c) + '\n').join('')}`);
    for (const c of chains) if (c.rules.length) each(c.rules.map((r) => ruleLine(r) + '\n').join(''));
    each('COMMIT\n');
  }
}

export function writeTable(table: Table, out: string[], opts: WriteOptions = {}, rules?: Array<Rule | undefined>): void {
  const chains = chainsInSaveOrder(table);
  const mark = (r?: Rule) => rules && (rules[out.length - 1] = r);
  out.push(`*${table.name}`);
  for (const c of chains) out.push(chainLine(c));
  for (const c of chains) {
    for (const r of c.rules) {
      out.push(ruleLine(r, opts.counters ?? true));
      mark(r);
    }
  }
  out.push('COMMIT');
}

export function chainLine(c: Chain): string {
  const policy = c.builtin ? (c.policy ?? 'ACCEPT') : '-';
  return `:${c.name} ${policy} ${counterText(c.counters)}`;
}

export function ruleLine(r: Rule, withCounters = true): string {
  const prefix = withCounters && r.counters ? `${counterText(r.counters)} ` : '';
  return r.text === '' ? `${prefix}-A ${r.chain}` : `${prefix}-A ${r.chain} ${r.text}`;
}

function counterText(c: Counters | undefined): string {
  return c ? `[${c.packets}:${c.bytes}]` : '[0:0]';
}
