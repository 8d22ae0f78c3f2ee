// The ruleset model: Ruleset → Table → Chain → Rule.
//
// A rule keeps both its argument tokens (as iptables-restore would split them) and the text
// it was written with, so that writing a parsed iptables-save file reproduces it byte for byte
// and error messages can quote the user's own words. Counters are kept as decimal strings:
// they are 64-bit in the kernel and must survive a round trip exactly.

export type Family = 'ipv4' | 'ipv6';
export type TableName = 'raw' | 'mangle' | 'filter' | 'nat' | 'security';

export interface SourceRef {
  file: string;
  line: number;
}

export interface Counters {
  packets: string;
  bytes: string;
}

export interface RuleTarget {
  kind: 'jump' | 'goto';
  name: string;
}

export interface Rule {
  chain: string;
  /** The rule specification, split as iptables-restore splits it (quotes removed). */
  args: string[];
  /** The specification as written (everything after the chain name, or after the position). */
  text: string;
  counters?: Counters;
  /** The counters were written in the rule (`-c P B`): set when the rule is written, even without --counters, as iptables-restore does. */
  inlineCounters?: boolean;
  target?: RuleTarget;
  source?: SourceRef;
}

export interface Chain {
  name: string;
  builtin: boolean;
  /** ACCEPT or DROP for built-in chains; null when not set (user chains, or `-` in the file). */
  policy: string | null;
  counters?: Counters;
  rules: Rule[];
  source?: SourceRef;
}

export interface Table {
  name: TableName;
  chains: Map<string, Chain>;
  source?: SourceRef;
}

export interface Ruleset {
  family: Family;
  /** Tables in the order they appeared. */
  tables: Map<TableName, Table>;
}

/** Built-in chains of each table, in the order iptables-save prints them (netfilter hook order). */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export const TABLE_NAMES = Object.keys(BUILTIN_CHAINS) as TableName[];

export function isTableName(name: string): name is TableName {
  return Object.prototype.hasOwnProperty.call(BUILTIN_CHAINS, name);
}

export function isBuiltinChain(table: TableName, chain: string): boolean {
  return BUILTIN_CHAINS[table].includes(chain);
}

export function newRuleset(family: Family): Ruleset {
  return { family, tables: new Map() };
}

/** A table holding its built-in chains (policy not set, no rules). */
export function newTable(name: TableName, source?: SourceRef): Table {
  const chains = new Map<string, Chain>();
  for (const c of BUILTIN_CHAINS[name]) chains.set(c, { name: c, builtin: true, policy: null, rules: [] });
  return { name, chains, source };
}

/** Chains in the order iptables-save prints them: built-ins in hook order, then user chains by strcmp. */
export function chainsInSaveOrder(table: Table): Chain[] {
  const builtins = BUILTIN_CHAINS[table.name]
    .map((n) => table.chains.get(n))
    .filter((c): c is Chain => c !== undefined);
  const users = [...table.chains.values()].filter((c) => !c.builtin);
  users.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...builtins, ...users];
}

export function familyName(family: Family): string {
  return family === 'ipv4' ? 'iptables' : 'ip6tables';
}
