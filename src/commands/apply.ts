// `apply [FILE] [FILE6]`: make the kernel hold the target, writing only what the user owns,
// verified, rolled back on any failure (apply/transaction.ts). `--plan SAVED` applies a saved
// plan only if the live ruleset still has the digest it recorded; `--confirm[=DURATION]` rolls
// it back unless confirmed in time (transact.ts). Exit codes: exit-codes.ts.
import type { Family, TableName } from '../core/model.js';
import { liveDigest } from '../core/plan.js';
import { clip, InputError, UserError } from '../errors.js';
import { planLimit } from '../core/limits.js';
import { readBounded } from '../io/input.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { readLive } from '../io/live.js';
import { readInProgress } from '../io/journal.js';
import type { FamilyInput, Outcome } from '../apply/transaction.js';
import type { PipelineOptions } from '../pipeline.js';
import type { PlanJson } from '../ui/plan-report.js';
import type { Output } from '../ui/output.js';
import { recoverCommand } from './recover.js';
import { transact } from './transact.js';

export interface ApplyOptions extends Omit<PipelineOptions, 'family' | 'file'> {
  files: string[];
  family: Family | 'both';
  plan?: string;
  recover?: boolean;
  /** Roll back unless confirmed within this duration ('' = the default, 60 s). */
  confirm?: string;
  /** A change is awaiting confirmation: confirm it, then apply. */
  force?: boolean;
  stateDir: string;
  lockFile: string;
  lockWait: number;
  keep: number;
}

export class StalePlanError extends UserError {}

export async function applyCommand(o: ApplyOptions, out: Output): Promise<ExitCode> {
  if (o.recover && readInProgress(o.stateDir)) {
    const code = await recoverCommand(o, out);
    if (code !== EXIT.OK) return code;
  }
  const tx = { stateDir: o.stateDir, lockFile: o.lockFile, lockWait: o.lockWait, keep: o.keep, say: (l: string) => out.warn(l) };
  return transact(o, tx, () => (o.plan ? fromPlan(o) : fromFiles(o)), 'apply', out);
}

function fromFiles(o: ApplyOptions): FamilyInput[] {
  const base = { ...o, canonical: o.canonical ?? ('auto' as const) };
  if (o.family !== 'both') {
    if (o.files.length > 1) throw new UserError(`one file per family: give --family both for ${o.files.join(' and ')}`);
    return [{ ...base, family: o.family, file: o.files[0] }];
  }
  if (o.files.length !== 2) throw new UserError('--family both needs two files: the IPv4 ruleset, then the IPv6 one');
  return [{ ...base, family: 'ipv4', file: o.files[0] }, { ...base, family: 'ipv6', file: o.files[1] }];
}

/** A saved plan, applied only if the live ruleset is still the one it was made against. */
async function fromPlan(o: ApplyOptions): Promise<FamilyInput[]> {
  let plan: PlanJson;
  try {
    const bytes = readBounded(o.plan!, planLimit(o.maxRulesetSize)); // a FIFO or a device is refused, a file over the limit too
    plan = JSON.parse(bytes.toString('utf8')) as PlanJson;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new UserError(`${clip(o.plan!)}: not a saved plan: ${clip((e as Error).message)}`);
  }
  if (!isPlan(plan)) throw new UserError(`${clip(o.plan!)}: not a saved plan of schema version 1`);
  const backend = o.backend && o.backend !== 'auto' ? o.backend : (plan.backend ?? undefined);
  const live = await readLive({ family: plan.family, backend, netns: o.netns });
  if (liveDigest(live.ruleset, plan.live.tables as TableName[]) !== plan.live.digest) {
    throw new StalePlanError(`${o.plan}: stale: the live ruleset changed since the plan was made (${plan.createdAt}); make a new plan`);
  }
  return [{ ...o, family: plan.family, backend: backend ?? 'auto', canonical: 'auto', inputText: { name: `${o.plan} (plan target)`, text: plan.target } }];
}

/** The fields apply reads, of the types it reads them as (anything else is not a plan: never a TypeError). */
function isPlan(p: unknown): p is PlanJson {
  const x = p as Partial<PlanJson> | null;
  return typeof x === 'object' && x !== null && x.schema === 'iptables-safe-restore/plan' && x.schemaVersion === 1 &&
    (x.family === 'ipv4' || x.family === 'ipv6') && typeof x.target === 'string' && (x.backend == null || x.backend === 'nft' || x.backend === 'legacy') &&
    typeof x.live === 'object' && x.live !== null && typeof x.live.digest === 'string' && Array.isArray(x.live.tables) && x.live.tables.every((t) => typeof t === 'string');
}

