// Lexical normalization: the form iptables-save would print a rule in, computed without the
// kernel. (Placeholder: exact comparison until the normalizer lands.)
import type { Family } from './model.js';

/** Do two rule specifications describe the same rule (for `-D` by specification)? */
export function sameRuleSpec(a: string[], b: string[], _family: Family): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

import type { Rule, Ruleset } from './model.js';
/** Placeholder until the normalizer lands: returns the ruleset unchanged, everything uncertain. */
export function normalizeRuleset(rs: Ruleset): { ruleset: Ruleset; uncertain: Array<{ table: string; chain: string; rule: Rule; reason: string }> } {
  return { ruleset: rs, uncertain: [] };
}
