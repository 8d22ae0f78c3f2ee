// Strip: remove from the user's ruleset everything an enabled owner owns — Docker's chains
// and its rules in built-in chains, which in a file saved while Docker ran are stale copies
// naming old container addresses — and say what went, with line numbers and reasons.
// A user-content chain (DOCKER-USER) stays when the file gives it contents of its own.
import { newRuleset, newTable, type Chain, type Ruleset, type TableName } from './model.js';
import { USER, verdictOf, type Classification } from './classify.js';

export interface StrippedLine {
  table: TableName;
  chain: string;
  /** Rule text, or undefined for a whole chain's declaration. */
  text?: string;
  line?: number;
  owner: string;
  reason: string;
}

export interface StripResult {
  ruleset: Ruleset;
  stripped: StrippedLine[];
  /** User-content chains (DOCKER-USER) whose contents the file provides. */
  userContentChains: Map<TableName, Set<string>>;
}

export function strip(rs: Ruleset, cls: Classification): StripResult {
  const out = newRuleset(rs.family);
  const stripped: StrippedLine[] = [];
  const userContentChains = new Map<TableName, Set<string>>();
  for (const table of rs.tables.values()) {
    const t = newTable(table.name, table.source);
    out.tables.set(table.name, t);
    const verdicts = cls.chains.get(table.name)!;
    for (const chain of table.chains.values()) {
      const cv = verdicts.get(chain.name)!;
      const keepChain = cv.owner === USER || (cv.userContent && chain.rules.some((r) => cls.rules.get(r)?.owner === USER));
      if (cv.owner === USER && cv.rules) {
        t.chains.set(chain.name, { ...chain, rules: chain.rules.slice() }); // a user chain: all of it is the user's
        continue;
      }
      if (!keepChain) {
        stripped.push({ table: table.name, chain: chain.name, line: chain.source?.line, owner: cv.owner, reason: cv.reason });
        for (const r of chain.rules) {
          stripped.push({ table: table.name, chain: chain.name, text: r.text, line: r.source?.line, owner: cv.owner, reason: verdictOf(cls, table.name, chain.name, r).reason });
        }
        continue;
      }
      if (cv.userContent) {
        if (!userContentChains.has(table.name)) userContentChains.set(table.name, new Set());
        userContentChains.get(table.name)!.add(chain.name);
      }
      const copy: Chain = { ...chain, rules: [] };
      for (const r of chain.rules) {
        const v = cls.rules.get(r)!;
        if (v.owner === USER || cv.userContent) copy.rules.push(r);
        else stripped.push({ table: table.name, chain: chain.name, text: r.text, line: r.source?.line, owner: v.owner, reason: v.reason });
      }
      t.chains.set(chain.name, copy);
    }
  }
  stripped.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { ruleset: out, stripped, userContentChains };
}
