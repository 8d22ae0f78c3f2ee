// Does iptables-save's output hold exactly this ruleset? Answered line by line as the output
// streams in, without building a second ruleset.
//
// apply's verification reads the kernel back after writing. In the usual case nothing else
// wrote meanwhile and the kernel prints exactly the target: then comparing text is enough,
// and costs neither a parse of 100k rules nor a third ruleset in memory (about 25 MB at 100k
// rules). Any difference — Docker started a container, a write went wrong, a line we do not
// expect — answers "no" with the first difference, and the caller takes the full way (parse,
// re-merge with what Docker holds now, write again). So this may only ever err towards "no".
//
// What is compared, for each table of the target (other tables are skipped):
//   - the same chains, in any order (the backends print user chains in different orders);
//   - a built-in chain's policy, when the target sets one (`-` leaves the live policy);
//   - each chain's rules, in order, text for text. Chain and rule counters are not compared.
import { isTableName, type Chain, type Ruleset, type Table } from './model.js';

export interface SaveMatcher {
  /** The next piece of the output: whole lines, or any cut (a partial line waits for the rest). */
  push(chunk: string): void;
  /** undefined when the output held exactly the target; otherwise the first difference. */
  end(): string | undefined;
}

export function matchSave(target: Ruleset): SaveMatcher {
  const seen = new Set<string>();
  let table: Table | undefined;
  let skipping = false;
  /** Rules matched so far in each chain of the open table, by chain; a chain is in it once declared. */
  let matched = new Map<Chain, number>();
  let last: { chain: Chain; prefix: string } | undefined;
  let diff: string | undefined;
  let rest = '';

  const line = (l: string): string | undefined => {
    if (l === '' || l.charCodeAt(0) === 35 /* # */) return undefined;
    if (skipping) {
      if (l === 'COMMIT') skipping = false;
      return undefined;
    }
    if (!table) {
      if (!l.startsWith('*')) return `unexpected line outside a table: ${l}`;
      const name = l.slice(1);
      table = isTableName(name) ? target.tables.get(name) : undefined;
      if (!table) {
        skipping = true;
        return undefined;
      }
      seen.add(name);
      matched = new Map();
      last = undefined;
      return undefined;
    }
    if (l.startsWith('-A ')) return rule(table, l);
    if (l.startsWith(':')) return declare(table, l);
    if (l === 'COMMIT') {
      const t = table;
      table = undefined;
      return commit(t);
    }
    return `unexpected line in table ${table.name}: ${l}`;
  };

  const declare = (t: Table, l: string): string | undefined => {
    const [name, policy] = l.slice(1).split(' ');
    const chain = t.chains.get(name);
    if (!chain) return `${t.name}: chain ${name} is not in the target`;
    if (chain.builtin && chain.policy !== null && chain.policy !== policy) return `${t.name}: ${name} policy ${policy}, target ${chain.policy}`;
    matched.set(chain, 0);
    return undefined;
  };

  const rule = (t: Table, l: string): string | undefined => {
    if (!last || !l.startsWith(last.prefix)) {
      const sp = l.indexOf(' ', 3);
      const name = sp < 0 ? l.slice(3) : l.slice(3, sp);
      const chain = t.chains.get(name);
      if (!chain || !matched.has(chain)) return `${t.name}: a rule in chain ${name}, which is not in the target`;
      last = { chain, prefix: `-A ${name} ` };
      if (sp < 0) return next(t, chain, '');
    }
    return next(t, last.chain, l.slice(last.prefix.length));
  };

  const next = (t: Table, chain: Chain, text: string): string | undefined => {
    const i = matched.get(chain)!;
    const want = chain.rules[i];
    if (!want || want.text !== text) return `${t.name}/${chain.name} rule ${i + 1}: ${want ? `'${text}', target '${want.text}'` : `'${text}' is one too many`}`;
    matched.set(chain, i + 1);
    return undefined;
  };

  const commit = (t: Table): string | undefined => {
    for (const chain of t.chains.values()) {
      const n = matched.get(chain);
      if (n === undefined) return `${t.name}: chain ${chain.name} is missing`;
      if (n !== chain.rules.length) return `${t.name}/${chain.name}: ${n} rules, target ${chain.rules.length}`;
    }
    return undefined;
  };

  const feed = (text: string) => {
    for (let from = 0; from < text.length && diff === undefined; ) {
      let to = text.indexOf('\n', from);
      if (to < 0) to = text.length;
      diff = line(text.slice(from, to));
      from = to + 1;
    }
  };

  return {
    push(chunk) {
      if (diff !== undefined) return;
      const cut = chunk.lastIndexOf('\n');
      if (cut < 0) {
        rest += chunk;
        return;
      }
      feed(rest + chunk.slice(0, cut));
      rest = chunk.slice(cut + 1);
    },
    end() {
      if (diff === undefined && rest !== '') feed(rest);
      if (diff !== undefined) return diff;
      if (table) return `table ${table.name} has no COMMIT`;
      for (const name of target.tables.keys()) if (!seen.has(name)) return `table ${name} is missing`;
      return undefined;
    },
  };
}
