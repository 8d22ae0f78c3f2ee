// `merge [FILE]`: print the target ruleset — the user's rules with the live Docker-owned
// chains and rules merged in — in restore format. Reads the live ruleset with iptables-save
// (root) or from --live-from. Changes nothing.
import { writeRuleset } from '../core/write.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { buildTarget, type PipelineOptions } from '../pipeline.js';
import type { Output } from '../ui/output.js';
import { reportCommon } from './common.js';

export async function mergeCommand(opts: PipelineOptions, out: Output): Promise<ExitCode> {
  const p = await buildTarget(opts);
  reportCommon(p, out);
  out.print(writeRuleset(p.merged.target));
  return EXIT.OK;
}
