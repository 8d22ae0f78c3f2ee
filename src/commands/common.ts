// What every command built on the pipeline tells the user on stderr: unsafe input, parse
// warnings, what was stripped (count), where the live ruleset came from, merge notes and
// warnings.
import { formatDiagnostic } from '../errors.js';
import type { Pipeline } from '../pipeline.js';
import type { Output } from '../ui/output.js';

/** Unsafe input and parse warnings: stderr, always. */
export function reportInputSafety(p: Pipeline, out: Output): void {
  if (p.input.unsafe) out.warn(`${p.input.name}: ${p.input.unsafe}; anyone who can write it controls your firewall`);
  for (const w of p.parseWarnings) out.warn(formatDiagnostic(w).replace(/^([^:]+:\d+): /, '$1: warning: '));
}

export function reportCommon(p: Pipeline, out: Output): void {
  reportInputSafety(p, out);
  out.verbose(`live ruleset from ${p.live.source}; owners preserved: ${p.profiles.map((x) => x.name).join(', ')}`);
  for (const n of p.notes) out.verbose(n);
  const rules = p.stripped.stripped.filter((s) => s.text !== undefined).length;
  const chains = p.stripped.stripped.length - rules;
  if (rules || chains) out.note(`stripped from ${p.input.name}: ${count(chains, 'chain')} and ${count(rules, 'rule')} owned by ${owners(p)} (see 'explain')`);
  for (const n of p.merged.notes) out.note(n);
  for (const w of [...p.warnings, ...p.merged.warnings]) out.warn(`warning: ${w}`);
}

function owners(p: Pipeline): string {
  return [...new Set(p.stripped.stripped.map((s) => s.owner))].join(', ');
}

export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
