// `check [FILE]`: validate a ruleset offline (syntax and references); with --canonical, print
// it the way iptables-save would. Needs no root unless the kernel form is asked for.
import type { Family } from '../core/model.js';
import { parseRuleset } from '../core/parse.js';
import { writeRuleset } from '../core/write.js';
import { normalizeRuleset } from '../core/normalize.js';
import { formatDiagnostic } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { readInput } from '../io/input.js';
import { rulesetLimit } from '../core/limits.js';
import type { Output } from '../ui/output.js';

export interface CheckOptions {
  file?: string;
  family: Family;
  canonical?: boolean;
  /** Canonical form from the kernel (throwaway namespace, root) instead of the lexical one. */
  kernel?: boolean;
  backend?: 'nft' | 'legacy' | 'auto';
  /** Read a file a non-root user could have written (input.ts). */
  force?: boolean;
  /** The largest ruleset read, in bytes (the configuration's max-ruleset-size; core/limits.ts). */
  maxRulesetSize?: number;
}

export async function check(opts: CheckOptions, out: Output): Promise<ExitCode> {
  const input = readInput(opts.file, { force: opts.force, limit: rulesetLimit(opts.maxRulesetSize) });
  if (input.unsafe) out.warn(`${input.name}: ${input.unsafe}; anyone who can write it controls your firewall`);
  const { ruleset, warnings } = parseRuleset(input.text, { file: input.name, family: opts.family });
  for (const w of warnings) out.warn(formatDiagnostic(w).replace(/^([^:]+:\d+): /, '$1: warning: '));

  if (opts.canonical) {
    if (opts.kernel) {
      const { canonicalizeInKernel } = await import('../io/canonicalize.js');
      const { detectBackend } = await import('../io/iptables.js');
      const backend = !opts.backend || opts.backend === 'auto' ? await detectBackend(opts.family) : opts.backend;
      out.note(`canonical form from the kernel (${backend} backend, throwaway network namespace)`);
      out.print(await canonicalizeInKernel(ruleset, backend));
    } else {
      const { ruleset: canon, uncertain } = normalizeRuleset(ruleset);
      out.note('canonical form from the lexical normalizer (no kernel involved)');
      for (const u of uncertain) {
        const where = u.rule.source ? `${u.rule.source.file}:${u.rule.source.line}: ` : '';
        out.warn(`${where}not sure how iptables prints this rule: ${u.reason}`);
      }
      out.print(writeRuleset(canon));
    }
    return EXIT.OK;
  }

  let chains = 0;
  let rules = 0;
  for (const t of ruleset.tables.values()) {
    for (const c of t.chains.values()) {
      if (!c.builtin) chains++;
      rules += c.rules.length;
    }
  }
  const tables = [...ruleset.tables.keys()].join(', ');
  out.result(`${input.name}: valid ${opts.family === 'ipv4' ? 'IPv4' : 'IPv6'} ruleset: tables ${tables}; ${chains} user chains, ${rules} rules`);
  return EXIT.OK;
}
