// Kernel canonicalization: the exact text iptables prints for a ruleset, obtained by loading
// it into a throwaway network namespace with the same backend's iptables-restore and reading
// it back with iptables-save. Two rules are "the same" when this prints them the same.
//
// Rules using `-m set --match-set NAME` only load when the set exists, so empty sets of the
// same name (and a type of the right dimension) are created in the namespace first.
import type { Family, Rule, Ruleset } from '../core/model.js';
import { writeRulesetWithSources } from '../core/write.js';
import { SystemError, UserError } from '../errors.js';
import { restore, save, type Backend } from './iptables.js';
import { withNetns } from './netns.js';
import { run } from './run.js';

export interface IpsetRef {
  name: string;
  dimension: number;
}

/** The ipsets a ruleset's rules refer to, with the largest dimension used for each. */
export function ipsetsUsed(rs: Ruleset): IpsetRef[] {
  const sets = new Map<string, number>();
  for (const t of rs.tables.values()) {
    for (const c of t.chains.values()) {
      for (const r of c.rules) {
        for (let i = 0; i < r.args.length; i++) {
          const a = r.args[i];
          if ((a === '--match-set' || a === '--set') && r.args[i + 1]) {
            const dims = (r.args[i + 2] ?? 'src').split(',').length;
            sets.set(r.args[i + 1], Math.max(sets.get(r.args[i + 1]) ?? 1, dims));
          }
          if ((a === '--add-set' || a === '--del-set' || a === '--map-set') && r.args[i + 1]) {
            const dims = (r.args[i + 2] ?? 'src').split(',').length;
            sets.set(r.args[i + 1], Math.max(sets.get(r.args[i + 1]) ?? 1, dims));
          }
        }
      }
    }
  }
  return [...sets].map(([name, dimension]) => ({ name, dimension }));
}

// One type per dimension that every kernel we met has (6.18 lacks hash:net,net and hash:net,port,net).
const SET_TYPES = ['hash:net', 'hash:net,port', 'hash:ip,port,ip'];

/** Load the ruleset into a fresh namespace and return what iptables-save prints for it. */
export async function canonicalizeInKernel(rs: Ruleset, backend: Backend, opts: { counters?: boolean; wait?: number; waitInterval?: number } = {}): Promise<string> {
  const { text: input, rules } = writeRulesetWithSources(rs);
  return withNetns('canon', async (ns) => {
    await createSets(ipsetsUsed(rs), rs.family, ns.path);
    try {
      // the user's -w/-W: the xtables lock (legacy) is the host's, not the namespace's
      await restore(input, { family: rs.family, backend, netns: ns.path, counters: opts.counters, wait: opts.wait, waitInterval: opts.waitInterval });
    } catch (e) {
      throw refused(e, rules);
    }
    const tables = [...rs.tables.keys()];
    const parts: string[] = [];
    for (const t of tables) parts.push(await save({ family: rs.family, backend, netns: ns.path, table: t, counters: opts.counters }));
    return parts.join('');
  });
}

/** The kernel refused a rule: name it by the user's file and line rather than our input's. */
export class KernelRefusedError extends UserError {}

function refused(e: unknown, rules: Array<Rule | undefined>): unknown {
  if (!(e instanceof SystemError)) return e;
  // not the rules: another program holds the (legacy) xtables lock longer than -w allows
  const busy = (e.detail ?? '').split('\n').find((l) => /holding the xtables lock/.test(l));
  if (busy) return new SystemError(`cannot load the ruleset into a throwaway network namespace: ${busy.trim()} (-w)`);
  const m = /Error occurred at line: (\d+)/.exec(e.detail ?? '');
  const rule = m ? rules[Number(m[1]) - 1] : undefined;
  const why = (e.detail ?? '').split('\n').find((l) => l.trim() && !/^Error occurred|^Try `/.test(l))?.replace(/^[\w.-]+ v[\d.]+ \([\w_]+\): /, '') ?? e.message;
  if (!rule?.source) return new KernelRefusedError(`iptables refused the ruleset (loaded into a throwaway network namespace): ${why}`);
  return new KernelRefusedError(`${rule.source.file}:${rule.source.line}: iptables refused this rule: ${why} (-A ${rule.chain} ${rule.text})`);
}

/** Create empty ipsets in a namespace so rules naming them load there. */
export async function createSets(sets: IpsetRef[], family: Family, netns: string): Promise<void> {
  for (const s of sets) {
    const type = SET_TYPES[Math.min(s.dimension, 3) - 1];
    const res = await run('ipset', ['create', s.name, type, 'family', family === 'ipv4' ? 'inet' : 'inet6'], { netns });
    if (res.exitCode !== 0) throw new SystemError(`cannot create ipset '${s.name}' for canonicalization`, res.stderr.trim());
  }
}
