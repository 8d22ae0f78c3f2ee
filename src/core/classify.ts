// Label every chain and every rule of a ruleset with its owner and a reason a person can
// read. Owner 'user' means the rule is the user's; any other owner is an enabled profile
// (docker, kube-proxy, …) whose rules we never write and always keep.
//
// Order of questions for a rule: is its chain owned (then so is the rule, except in a
// user-content chain such as DOCKER-USER)? In a built-in chain, does it jump to an owned
// chain? Does a profile recognise its shape? Otherwise it is the user's.
import type { Chain, Rule, Ruleset, TableName } from './model.js';
import type { DockerFacts } from './facts.js';
import type { OwnerProfile, Placement } from './owners/profile.js';
import { viewRule } from './rule-view.js';

export const USER = 'user';

export interface ChainVerdict {
  owner: string;
  reason: string;
  /** The chain is the owner's but its contents are the user's (DOCKER-USER). */
  userContent: boolean;
  /** The verdict every rule of this chain shares, when they all share one (one object, not one per rule). */
  rules?: RuleVerdict;
}

export interface RuleVerdict {
  owner: string;
  reason: string;
  /** For owned rules in built-in chains: above or below the user's rules. */
  placement?: Placement;
}

export interface Classification {
  chains: Map<TableName, Map<string, ChainVerdict>>;
  /** Verdicts of rules that can differ from their chain's: in built-in and user-content chains. */
  rules: Map<Rule, RuleVerdict>;
}

/** The verdict of one rule of a chain of a classified ruleset. */
export function verdictOf(cls: Classification, table: TableName, chain: string, rule: Rule): RuleVerdict {
  return cls.rules.get(rule) ?? cls.chains.get(table)!.get(chain)!.rules!;
}

export function classify(rs: Ruleset, profiles: readonly OwnerProfile[], facts: DockerFacts): Classification {
  const out: Classification = { chains: new Map(), rules: new Map() };
  for (const table of rs.tables.values()) {
    const chains = new Map<string, ChainVerdict>();
    out.chains.set(table.name, chains);
    for (const chain of table.chains.values()) chains.set(chain.name, chainVerdict(table.name, chain, profiles));
    for (const chain of table.chains.values()) {
      const cv = chains.get(chain.name)!;
      if (cv.rules) continue; // every rule shares the chain's verdict
      for (const rule of chain.rules) out.rules.set(rule, ruleVerdict(table.name, chain, cv, rule, chains, profiles, facts));
    }
  }
  return out;
}

function chainVerdict(table: TableName, chain: Chain, profiles: readonly OwnerProfile[]): ChainVerdict {
  if (chain.builtin) return { owner: USER, reason: `built-in chain ${chain.name}`, userContent: false };
  for (const p of profiles) {
    const why = p.ownsChain(table, chain.name);
    if (!why) continue;
    if (p.userContentChains?.includes(chain.name)) return { owner: p.name, reason: why, userContent: true };
    return { owner: p.name, reason: why, userContent: false, rules: { owner: p.name, reason: `in ${label(p, p.name)} chain ${chain.name}` } };
  }
  return { owner: USER, reason: `user chain ${chain.name}`, userContent: false, rules: { owner: USER, reason: `in user chain ${chain.name}` } };
}

function ruleVerdict(
  table: TableName, chain: Chain, cv: ChainVerdict, rule: Rule,
  chains: Map<string, ChainVerdict>, profiles: readonly OwnerProfile[], facts: DockerFacts,
): RuleVerdict {
  if (cv.owner !== USER) {
    const profile = profiles.find((p) => p.name === cv.owner);
    const defaults = profile?.defaultContents?.(chain.name) ?? [];
    if (chain.rules.length === defaults.length && chain.rules.every((r, i) => r.text === defaults[i])) {
      return { owner: cv.owner, reason: `${label(profile, cv.owner)}'s default contents of ${chain.name}` };
    }
    return { owner: USER, reason: `in ${chain.name}: ${cv.owner} creates the chain, its contents are the user's` };
  }
  const target = rule.target?.name;
  const tv = target !== undefined ? chains.get(target) : undefined;
  if (tv && tv.owner !== USER) {
    const profile = profiles.find((p) => p.name === tv.owner);
    const placement = profile?.jumpPlacement?.(table, chain.name, target!) ?? 'leading';
    return { owner: tv.owner, reason: `${rule.target!.kind === 'goto' ? 'goto' : 'jump'} to ${label(profile, tv.owner)} chain ${target}`, placement };
  }
  const view = viewRule(rule.args);
  for (const p of profiles) {
    const owned = p.ownsBuiltinRule?.(table, chain.name, rule, view, facts);
    if (owned) return { owner: p.name, reason: owned.reason, placement: owned.placement };
  }
  return { owner: USER, reason: `user rule in built-in chain ${chain.name}` };
}

function label(p: OwnerProfile | undefined, owner: string): string {
  return p?.label ?? owner;
}
