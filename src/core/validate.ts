// Checks on one rule that iptables-restore would make (or that keep the user out of trouble):
// the jump target exists, addresses are of the ruleset's family, -i/-o fit the built-in
// chain's hook, table-bound targets sit in their table. Old-style negation (`--dport ! 22`),
// which iptables 1.8.9 rejects, is rewritten to `! --dport 22` with a warning.
import type { Chain, Family, Table } from './model.js';
import type { Command } from './command.js';
import { resolveLong } from './command.js';
import { addressFamilyProblem, natTargetFamilyProblem } from './addresses.js';
import { STANDARD_TARGETS, isOtherFamilyExtension, isTargetExtension, targetTables } from './targets.js';
import { quoteIfNeeded } from './tokenize.js';

export interface Problem {
  severity: 'error' | 'warning';
  reason: string;
  token?: string;
  /** Replacement arguments for the rule (used for the negation rewrite). */
  rewrite?: { args: string[]; text: string };
}

const NO_OUT = new Set(['INPUT', 'PREROUTING']);
const NO_IN = new Set(['OUTPUT', 'POSTROUTING']);

const LONG_CORE: Record<string, string> = {
  source: 's', src: 's', destination: 'd', dst: 'd', protocol: 'p', 'in-interface': 'i',
  'out-interface': 'o', jump: 'j', goto: 'g', match: 'm', fragments: 'f',
};
const coreCache = new Map<string, string>();

/** The core option a token stands for (`-s`, `--src`, `--sou` → 's'), or undefined. */
export function coreOption(tok: string): string | undefined {
  if (tok.length < 2 || tok[0] !== '-') return undefined;
  if (tok.length === 2) {
    const c = tok.charCodeAt(1);
    return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ? tok[1] : undefined;
  }
  if (tok[1] !== '-') return undefined;
  const hit = coreCache.get(tok);
  if (hit !== undefined) return hit === '' ? undefined : hit;
  const full = resolveLong(tok.slice(2));
  const opt = full ? LONG_CORE[full] : undefined;
  if (coreCache.size < 10_000) coreCache.set(tok, opt ?? ''); // '': no core option
  return opt;
}

export function checkRule(cmd: Command, chain: Chain, table: Table, family: Family): Problem[] {
  const problems: Problem[] = [];
  let args = cmd.spec;

  const rewritten = args.includes('!') ? rewriteOldNegation(args) : undefined;
  if (rewritten) {
    args = rewritten.args;
    problems.push({
      severity: 'warning',
      reason: `old-style negation '${rewritten.was}' rewritten as '! ${rewritten.was.replace(' ! ', ' ')}' (iptables 1.8 rejects the old form)`,
      rewrite: { args, text: args.map(quoteIfNeeded).join(' ') },
    });
  }

  for (let i = 0; i < args.length; i++) {
    if (args[i][0] !== '-') continue;
    const opt = coreOption(args[i]);
    const value = args[i + 1];
    if ((opt === 's' || opt === 'd') && value !== undefined) {
      for (const item of value.includes(',') ? value.split(',') : [value]) {
        const p = addressFamilyProblem(item, family);
        if (p) problems.push({ severity: 'error', reason: p, token: item });
      }
    }
    if ((args[i] === '--src-range' || args[i] === '--dst-range') && value !== undefined) {
      for (const item of value.split('-')) {
        const p = addressFamilyProblem(item, family);
        if (p) problems.push({ severity: 'error', reason: p, token: item });
      }
    }
    if ((args[i] === '--to-destination' || args[i] === '--to-source' || args[i] === '--to') && value !== undefined) {
      const p = natTargetFamilyProblem(value, family);
      if (p) problems.push({ severity: 'error', reason: p, token: value });
    }
    if (chain.builtin && opt === 'o' && NO_OUT.has(chain.name)) {
      problems.push({ severity: 'error', reason: `-o (output interface) cannot be used in chain ${chain.name}`, token: args[i] });
    }
    if (chain.builtin && opt === 'i' && NO_IN.has(chain.name)) {
      problems.push({ severity: 'error', reason: `-i (input interface) cannot be used in chain ${chain.name}`, token: args[i] });
    }
  }

  const target = cmd.target;
  if (target) {
    const name = target.name;
    const dest = table.chains.get(name);
    if (dest?.builtin) {
      problems.push({ severity: 'error', reason: `cannot jump to built-in chain '${name}'`, token: name });
    } else if (dest) {
      // a user chain of this table: fine
    } else if (STANDARD_TARGETS.has(name) || isTargetExtension(name, family)) {
      if (target.kind === 'goto' && STANDARD_TARGETS.has(name)) {
        problems.push({ severity: 'error', reason: `-g needs a user chain, not '${name}'`, token: name });
      }
      const only = targetTables(name);
      if (only && !only.includes(table.name)) {
        problems.push({ severity: 'error', reason: `target '${name}' is only valid in the ${only.join('/')} table, not '${table.name}'`, token: name });
      }
    } else if (isOtherFamilyExtension(name, family)) {
      const other = family === 'ipv4' ? 'IPv6 (ip6tables)' : 'IPv4 (iptables)';
      problems.push({ severity: 'error', reason: `target '${name}' exists only for ${other}`, token: name });
    } else {
      problems.push({
        severity: 'error',
        reason: `jump to '${name}': no such chain in table '${table.name}' and not a standard target or target extension`,
        token: name,
      });
    }
  }
  return problems;
}

/** `--opt ! value` → `! --opt value`; undefined when the rule has no old-style negation. */
function rewriteOldNegation(args: string[]): { args: string[]; was: string } | undefined {
  let out: string[] | undefined;
  let was = '';
  for (let i = 1; i + 1 < args.length; i++) {
    const src = out ?? args;
    if (src[i] !== '!') continue;
    const prev = src[i - 1];
    const next = src[i + 1];
    if (!prev.startsWith('-') || prev === '!' || next.startsWith('-') || next === '!') continue;
    if (i >= 2 && src[i - 2] === '!') continue;
    out = [...src.slice(0, i - 1), '!', prev, ...src.slice(i + 1)];
    was ||= `${prev} ! ${next}`;
  }
  return out ? { args: out, was } : undefined;
}
