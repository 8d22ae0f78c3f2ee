// The plan for a person: a summary per table, what is preserved and stripped, warnings,
// then a unified diff per table of live → target, chain by chain, with context lines.
import type { ChainChange, PlanDiff } from '../core/plan.js';
import type { Run } from '../core/line-diff.js';
import type { PlanJson } from './plan-report.js';
import type { Palette } from './color.js';

export interface TextOptions {
  context: number;
  explain: boolean;
  color: Palette;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function renderPlan(plan: PlanJson, diff: PlanDiff, o: TextOptions): string {
  const c = o.color;
  const out: string[] = [];
  const fam = plan.family === 'ipv4' ? 'IPv4' : 'IPv6';
  const how = plan.canonical.method === 'kernel'
    ? `kernel-canonical forms (${plan.backend} backend${plan.canonical.cached ? ', cached' : ''})`
    : `the offline lexical normalization${plan.canonical.fallback ? ` (${plan.canonical.fallback})` : ''}`;
  out.push(c.bold(`Plan for ${fam}: ${plan.file.path} against ${plan.live.source}, compared on ${how}.`));
  out.push('');
  for (const t of plan.tables) {
    const parts: string[] = [];
    if (t.chainsAdded.length) parts.push(`${plural(t.chainsAdded.length, 'chain')} added (${t.chainsAdded.join(', ')})`);
    if (t.chainsRemoved.length) parts.push(`${plural(t.chainsRemoved.length, 'chain')} removed (${t.chainsRemoved.join(', ')})`);
    if (t.chainsChanged.length) parts.push(`${plural(t.chainsChanged.length, 'chain')} changed (${t.chainsChanged.join(', ')})`);
    const rules = t.rulesAdded || t.rulesRemoved ? `; ${plural(t.rulesAdded, 'rule')} added, ${t.rulesRemoved} removed` : '';
    out.push(`  ${c.bold(t.name.padEnd(8))} ${parts.length ? parts.join(', ') + rules : 'no changes'}`);
  }
  const owners = Object.entries(plan.preserved.byOwner).map(([o, n]) => `${o}: ${plural(n.chains, 'chain')}, ${plural(n.rules, 'rule')}`);
  out.push('');
  out.push(`Preserved from live: ${owners.length ? owners.join('; ') : 'nothing (no Docker or other preserved rules live)'}.`);
  const strippedRules = plan.stripped.filter((s) => s.text !== undefined).length;
  if (plan.stripped.length) {
    out.push(`Stripped from your file: ${plural(plan.stripped.length - strippedRules, 'chain')} and ${plural(strippedRules, 'rule')} owned by ${[...new Set(plan.stripped.map((s) => s.owner))].join(', ')}${o.explain ? ':' : ' (--explain lists them).'}`);
    if (o.explain) for (const s of plan.stripped) out.push(`  ${String(s.line ?? '?').padStart(5)}  ${s.table}/${s.chain}  ${s.text ?? '(chain)'}  — ${s.reason}`);
  } else {
    out.push('Stripped from your file: nothing.');
  }
  for (const u of plan.canonical.uncertain) out.push(c.yellow(`note: line ${u.line ?? '?'}: offline normalization unsure (${u.reason}); may show as a change: ${u.text}`));
  for (const n of plan.notes) out.push(`note: ${n}`);
  for (const w of plan.warnings) out.push(c.yellow(`warning: ${w}`));
  for (const t of diff.tables) {
    if (t.chains.length === 0) continue;
    out.push('');
    out.push(c.bold(`--- live/${t.table}`));
    out.push(c.bold(`+++ target/${t.table}`));
    const decl = declarationHunk(t.chains, c);
    if (decl.length) out.push(...decl);
    for (const ch of t.chains) out.push(...hunks(ch, o.context, c));
  }
  out.push('');
  if (!plan.changes) out.push(c.green('No changes: the live ruleset already matches the target.'));
  else out.push(c.bold(`Changes pending: ${plural(plan.summary.rulesAdded, 'rule')} to add, ${plan.summary.rulesRemoved} to remove, ${plural(plan.summary.chainsAdded + plan.summary.chainsRemoved + plan.summary.chainsChanged, 'chain')} touched.`));
  return out.join('\n') + '\n';
}

function declarationHunk(chains: ChainChange[], c: Palette): string[] {
  const lines: string[] = [];
  for (const ch of chains) {
    if (ch.status === 'removed') lines.push(c.red(`-:${ch.chain} - [0:0]`));
    if (ch.status === 'added') lines.push(c.green(`+:${ch.chain} - [0:0]`));
    if (ch.policy) {
      lines.push(c.red(`-:${ch.chain} ${ch.policy.from}`));
      lines.push(c.green(`+:${ch.chain} ${ch.policy.to}`));
    }
  }
  return lines.length ? [c.cyan('@@ chain declarations and policies @@'), ...lines] : [];
}

/** Unified-diff hunks for one chain, numbered as lines of each side's save text of the table. */
function hunks(ch: ChainChange, context: number, c: Palette): string[] {
  interface Line { op: Run['op']; text: string; a: number; b: number }
  const lines: Line[] = [];
  let a = ch.liveLine;
  let b = ch.targetLine;
  for (const r of ch.runs) {
    for (const text of r.lines) {
      lines.push({ op: r.op, text, a, b });
      if (r.op !== '+') a++;
      if (r.op !== '-') b++;
    }
  }
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    while (i < lines.length && lines[i].op === ' ') i++;
    if (i >= lines.length) break;
    const start = Math.max(0, i - context);
    let end = i;
    // extend while the next change is within 2×context of this one
    for (;;) {
      while (end < lines.length && lines[end].op !== ' ') end++;
      let k = end;
      while (k < lines.length && lines[k].op === ' ' && k - end < 2 * context) k++;
      if (k < lines.length && lines[k].op !== ' ' && k - end <= 2 * context) end = k;
      else break;
    }
    const stop = Math.min(lines.length, end + context);
    const slice = lines.slice(start, stop);
    const aCount = slice.filter((l) => l.op !== '+').length;
    const bCount = slice.filter((l) => l.op !== '-').length;
    const aStart = aCount ? slice.find((l) => l.op !== '+')!.a : slice[0].a - 1;
    const bStart = bCount ? slice.find((l) => l.op !== '-')!.b : slice[0].b - 1;
    out.push(c.cyan(`@@ -${aStart},${aCount} +${bStart},${bCount} @@ ${ch.chain}`));
    for (const l of slice) out.push(l.op === '-' ? c.red(`-${l.text}`) : l.op === '+' ? c.green(`+${l.text}`) : ` ${l.text}`);
    i = stop;
  }
  return out;
}
