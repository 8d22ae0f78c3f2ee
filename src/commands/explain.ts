// `explain [FILE]`: each line of the user's file with its verdict — kept, or stripped as
// Docker's (or another owner's) and why — then each live chain and rule that is preserved,
// with its reason.
import { EXIT, type ExitCode } from '../exit-codes.js';
import { USER, verdictOf } from '../core/classify.js';
import { buildTarget, type PipelineOptions } from '../pipeline.js';
import type { Output } from '../ui/output.js';
import { reportCommon } from './common.js';

interface Row {
  line: number;
  verdict: string;
  what: string;
  reason: string;
}

export async function explainCommand(opts: PipelineOptions, out: Output): Promise<ExitCode> {
  const p = await buildTarget(opts);
  reportCommon(p, out);
  const rows: Row[] = [];
  for (const t of p.user.tables.values()) {
    for (const c of t.chains.values()) {
      const cv = p.userClass.chains.get(t.name)!.get(c.name)!;
      if (c.source && !c.builtin) {
        const kept = cv.owner === USER || p.stripped.userContentChains.get(t.name)?.has(c.name);
        rows.push({ line: c.source.line, verdict: kept ? 'kept' : 'stripped', what: `*${t.name} :${c.name}`, reason: cv.reason });
      }
      for (const r of c.rules) {
        const v = verdictOf(p.userClass, t.name, c.name, r);
        const kept = v.owner === USER;
        rows.push({ line: r.source?.line ?? 0, verdict: kept ? 'kept' : 'stripped', what: `*${t.name} -A ${c.name} ${r.text}`, reason: v.reason });
      }
    }
  }
  for (const x of p.skipped) {
    const tool = x.family === 'ipv4' ? 'iptables' : 'ip6tables';
    rows.push({ line: x.line, verdict: 'skipped', what: `*${x.table} ${x.text}`, reason: `tagged ${x.family === 'ipv4' ? '-4' : '-6'}: a rule for ${x.family === 'ipv4' ? 'IPv4' : 'IPv6'}, which this family skips as ${opts.family === 'ipv4' ? 'iptables' : 'ip6tables'}-restore does (${tool}-safe-restore loads it)` });
  }
  rows.sort((a, b) => a.line - b.line);
  out.print(`Your file (${p.input.name}):\n`);
  for (const r of rows) out.print(`${String(r.line).padStart(5)}  ${r.verdict.padEnd(8)}  ${r.what}\n${' '.repeat(17)}${r.reason}\n`);
  out.print(`\nPreserved from the live ruleset (${p.live.source}):\n`);
  if (p.merged.preserved.length === 0) out.print('  nothing: no Docker (or other preserved) chains or rules are live\n');
  for (const x of p.merged.preserved) {
    const what = x.rule ? `-A ${x.chain} ${x.rule.text}` : `:${x.chain} (chain)`;
    out.print(`  *${x.table} ${what}\n${' '.repeat(4)}${x.owner}: ${x.reason}\n`);
  }
  return EXIT.OK;
}
