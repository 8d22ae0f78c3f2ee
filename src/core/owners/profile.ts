// What an owner profile is. Owners are data: each tool whose chains and rules we must keep
// (Docker, kube-proxy, fail2ban, …) is one small module describing what it writes. The
// classifier and the merge never name a tool; they ask the enabled profiles.
import type { Rule, TableName } from '../model.js';
import type { RuleView } from '../rule-view.js';
import type { DockerFacts } from '../facts.js';

/** Where the owner puts a rule in a built-in chain: above the user's rules (it inserts with -I) or below (it appends with -A). */
export type Placement = 'leading' | 'trailing';

export interface OwnedRule {
  reason: string;
  placement: Placement;
}

export interface OwnerProfile {
  name: string;
  /** How reasons name the owner ("Docker chain DOCKER"); defaults to the name. */
  label?: string;
  /** One line for --help and `explain`. */
  summary: string;
  defaultOn: boolean;
  /** Why this owner owns a chain of this name in this table, or undefined. */
  ownsChain(table: TableName, chain: string): string | undefined;
  /** Chains whose existence (and the jumps to them) are the owner's but whose contents are the user's. */
  userContentChains?: readonly string[];
  /** The owner's own default contents of such a chain (not user rules), as rule texts. */
  defaultContents?: (chain: string) => readonly string[];
  /** A rule this owner writes in a built-in chain, other than a plain jump to one of its chains. */
  ownsBuiltinRule?(table: TableName, chain: string, rule: Rule, view: RuleView, facts: DockerFacts): OwnedRule | undefined;
  /** Placement of a jump from a built-in chain to one of the owner's chains. */
  jumpPlacement?(table: TableName, chain: string, target: string): Placement;
}

/** A profile that owns chains by name prefix, and the jumps to them from built-in chains. */
export function prefixProfile(name: string, summary: string, prefixes: readonly string[]): OwnerProfile {
  return {
    name,
    summary,
    defaultOn: false,
    ownsChain: (_table, chain) => {
      const p = prefixes.find((x) => chain.startsWith(x));
      return p ? `${name} chain (name starts with ${p})` : undefined;
    },
  };
}
