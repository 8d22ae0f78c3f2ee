// `plan [FILE]`: what apply would change, without changing anything. Exit 0: nothing to do;
// 2: changes pending; 1: error. `--json` prints the plan object, `--out FILE` saves it for
// `apply --plan FILE`.
import { planDiff } from '../core/plan.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { buildTarget, type PipelineOptions } from '../pipeline.js';
import { writePrivateFile } from '../io/files.js';
import { planReport } from '../ui/plan-report.js';
import { renderPlan } from '../ui/plan-text.js';
import { colorWanted, palette } from '../ui/color.js';
import type { Output } from '../ui/output.js';
import { reportInputSafety } from './common.js';

export interface PlanOptions extends PipelineOptions {
  json?: boolean;
  out?: string;
  context?: number;
  explain?: boolean;
  color?: boolean;
  now?: Date;
}

export async function planCommand(opts: PlanOptions, out: Output): Promise<ExitCode> {
  const p = await buildTarget({ ...opts, canonical: opts.canonical ?? 'auto' });
  reportInputSafety(p, out);
  const diff = planDiff(p.live.ruleset, p.merged.target);
  const report = planReport(p, diff, opts.now ?? new Date(), opts.json === true || opts.out !== undefined);
  if (opts.out) writePrivateFile(opts.out, JSON.stringify(report, null, 2) + '\n');
  if (opts.json) out.print(JSON.stringify(report, null, 2) + '\n');
  else out.print(renderPlan(report, diff, { context: opts.context ?? 3, explain: opts.explain ?? false, color: palette(colorWanted(opts.color, process.stdout.isTTY === true)) }));
  return diff.changes ? EXIT.CHANGES : EXIT.OK;
}
