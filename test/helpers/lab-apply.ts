// Helpers for lab tests that run the built tool against a lab's host namespace: the CLI with the lab's
// netns/socket, iptables-save dumps of the lab, and the oracle comparison (same rules as
// test/unit/merge-oracle.test.ts, applied to two kernel dumps instead of an in-memory merge).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { join } from 'node:path';
import { parseRuleset } from '../../src/core/parse.js';
import { BUILTIN_CHAINS, type Family, type Ruleset, type TableName } from '../../src/core/model.js';
import { repoRoot, type Lab, type RunResult } from './lab.js';

export const TOOL: Record<Family, string> = {
  ipv4: join(repoRoot, 'bin', 'iptables-safe-restore'),
  ipv6: join(repoRoot, 'bin', 'ip6tables-safe-restore'),
};

export interface ToolContext {
  lab: Lab;
  stateDir: string;
  lockFile: string;
}

/** Exit codes of apply (README): 0 applied, 3 nothing to do, 4 failed + rolled back, 5 rollback failed, 6 lock held. */
export const APPLIED = 0;
export const NOTHING_TO_DO = 3;

/**
 * `iptables-safe-restore apply FILE` (or ip6tables-) against the lab's host namespace and dockerd.
 *
 * Deliberate sabotage, to show the lab tests fail when the tool's work is not done right:
 *  ISR_LAB_APPLY_BREAK=plain-restore: a plain `iptables-restore FILE` in the lab host namespace instead
 *    (its exit code passed through): Docker's rules are flushed;
 *  ISR_LAB_APPLY_BREAK=noop: nothing is written, exit 0: the user's file is not enforced.
 */
export async function apply(ctx: ToolContext, family: Family, file: string): Promise<RunResult> {
  const sabotage = process.env.ISR_LAB_APPLY_BREAK;
  if (sabotage === 'plain-restore') return ctx.lab.exec([family === 'ipv4' ? 'iptables-restore' : 'ip6tables-restore', file]);
  if (sabotage === 'noop') return { exitCode: APPLIED, stdout: 'sabotage: nothing applied', stderr: '', timedOut: false };
  if (sabotage) throw new Error(`ISR_LAB_APPLY_BREAK: unknown sabotage '${sabotage}' (plain-restore, noop)`);
  return runTool(ctx, family, ['apply', file, '--lock-file', ctx.lockFile]);
}

/** `plan FILE`: 0 when the live rules already match the target, 2 when changes are pending. */
export function plan(ctx: ToolContext, family: Family, file: string): Promise<RunResult> {
  return runTool(ctx, family, ['plan', file]);
}

/** The tool with ARGS against the lab's host namespace and dockerd (and our state directory, unless stateless: save). */
export async function runTool(ctx: ToolContext, family: Family, args: string[], o: { stateless?: boolean } = {}): Promise<RunResult> {
  const r = await execa(
    process.execPath,
    [
      TOOL[family], ...args,
      '--netns', ctx.lab.env.NETNS_HOST ?? `isr-lab-${ctx.lab.instance}-host`,
      '--docker-socket', ctx.lab.dockerSocket(),
      ...(o.stateless ? [] : ['--state-dir', ctx.stateDir]),
    ],
    { reject: false, timeout: 120_000, stdin: 'ignore', env: { NO_COLOR: '1' } },
  );
  return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), timedOut: Boolean(r.timedOut) };
}

/** Text of a tool run for assertion messages. */
export const said = (r: RunResult): string => `exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}\n${r.stdout}${r.stderr}`.trim();

/** iptables-save / ip6tables-save of the lab host namespace (no counters, no "# Generated" lines). */
export async function save(lab: Lab, family: Family): Promise<string> {
  const r = await lab.exec([family === 'ipv4' ? 'iptables-save' : 'ip6tables-save']);
  assert.equal(r.exitCode, 0, `${family} save in the lab failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, '$1 [0:0]'))
    .join('\n');
}

/** Parse a dump or file; an empty dump (no table loaded in that family) is an empty ruleset. */
export function parse(text: string, family: Family, file: string): Ruleset {
  if (!text.trim()) return { family, tables: new Map() };
  return parseRuleset(text, { file, family }).ruleset;
}

/** Both dumps until they stay unchanged for stableMs (at most maxMs); returns the last dumps. */
export async function settle(lab: Lab, stableMs = 1000, maxMs = 15_000): Promise<{ v4: string; v6: string; settled: boolean }> {
  const start = Date.now();
  let last = { v4: await save(lab, 'ipv4'), v6: await save(lab, 'ipv6') };
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const cur = { v4: await save(lab, 'ipv4'), v6: await save(lab, 'ipv6') };
    if (cur.v4 !== last.v4 || cur.v6 !== last.v6) {
      last = cur;
      since = Date.now();
    }
    if (Date.now() - since >= stableMs) return { ...last, settled: true };
    if (Date.now() - start >= maxMs) return { ...last, settled: false };
  }
}

export const rulesOf = (rs: Ruleset, table: TableName, chain: string): string[] =>
  rs.tables.get(table)?.chains.get(chain)?.rules.map((r) => r.text) ?? [];

const sorted = (xs: string[]) => [...xs].sort();

/** Split a built-in chain around the user's block: [above, block, below]. */
function around(rules: string[], userBlock: string[], what: string): [string[], string[], string[]] {
  if (userBlock.length === 0) return [rules, [], []];
  const start = rules.indexOf(userBlock[0]);
  assert.ok(start >= 0, `${what}: the user's block (from ${userBlock[0]}) not found in ${JSON.stringify(rules)}`);
  return [rules.slice(0, start), rules.slice(start, start + userBlock.length), rules.slice(start + userBlock.length)];
}

/**
 * Our kernel state after `apply PROBE` against the oracle's (plain restore of PROBE, then dockerd restarted
 * with live-restore), for every table of the probe:
 *  - the same chains; in each built-in chain the user's block exactly, Docker's rules above it and below it
 *    as multisets (the order between Docker networks varies from run to run); Docker's own chains as multisets;
 *  - difference 1: on 20.10 and 26 the restarted engine does not recreate DOCKER-USER nor its FORWARD jump;
 *    we keep both as they were live before (jump first in FORWARD, chain contents unchanged);
 *  - difference 2: policies come from the file (20.10/26 set the v6 FORWARD policy to DROP on restart).
 * Returns the notes on intentional differences seen.
 */
export function compareWithOracle(o: {
  engine: string;
  label: string;
  probe: Ruleset;
  ours: Ruleset;
  oracle: Ruleset;
  before: Ruleset;
}): string[] {
  const notes: string[] = [];
  for (const table of o.probe.tables.keys()) {
    const what = `${o.label} ${table}`;
    const ours = o.ours.tables.get(table);
    const theirs = o.oracle.tables.get(table);
    assert.ok(ours, `${what}: our state has no ${table} table`);
    assert.ok(theirs, `${what}: the oracle has no ${table} table`);
    const oracleLacksDockerUser = table === 'filter' && !theirs.chains.has('DOCKER-USER') && ours.chains.has('DOCKER-USER');
    if (oracleLacksDockerUser) {
      // difference 1
      assert.ok(['20.10', '26'].includes(o.engine), `${what}: DOCKER-USER missing from the ${o.engine} oracle (only 20.10/26 lose it)`);
      assert.equal(rulesOf(o.ours, 'filter', 'FORWARD')[0], '-j DOCKER-USER', `${what}: DOCKER-USER jump kept first in FORWARD`);
      assert.deepEqual(rulesOf(o.ours, 'filter', 'DOCKER-USER'), rulesOf(o.before, 'filter', 'DOCKER-USER'), `${what}: DOCKER-USER kept as it was`);
      notes.push(`${o.label}: DOCKER-USER kept (the restarted ${o.engine} engine did not recreate it)`);
    }
    const skip = (name: string) => oracleLacksDockerUser && name === 'DOCKER-USER';
    assert.deepEqual(
      [...ours.chains.keys()].filter((n) => !skip(n)).sort(),
      [...theirs.chains.keys()].sort(),
      `${what}: chains`,
    );
    for (const name of BUILTIN_CHAINS[table]) {
      const block = rulesOf(o.probe, table, name);
      const mine = rulesOf(o.ours, table, name).filter((r) => !(oracleLacksDockerUser && r === '-j DOCKER-USER'));
      const [a1, b1, c1] = around(mine, block, `${what}/${name} (ours)`);
      const [a2, b2, c2] = around(rulesOf(o.oracle, table, name), block, `${what}/${name} (oracle)`);
      assert.deepEqual(b1, b2, `${what}/${name}: the user's block`);
      assert.deepEqual(sorted(a1), sorted(a2), `${what}/${name}: Docker's rules above the user's`);
      assert.deepEqual(sorted(c1), sorted(c2), `${what}/${name}: Docker's rules below the user's`);
      const policy: string | null | undefined = ours.chains.get(name)?.policy;
      const want: string | null | undefined = o.probe.tables.get(table)?.chains.get(name)?.policy;
      assert.equal(policy, want, `${what}/${name}: policy from the file`); // difference 2
      const oraclePolicy: string | null | undefined = theirs.chains.get(name)?.policy;
      if (oraclePolicy !== policy) notes.push(`${o.label}: ${table}/${name} policy ${policy} from the file (restarted engine set ${oraclePolicy})`);
    }
    for (const c of ours.chains.values()) {
      if (c.builtin || skip(c.name)) continue;
      assert.deepEqual(sorted(c.rules.map((r) => r.text)), sorted(rulesOf(o.oracle, table, c.name)), `${what}/${c.name}: Docker's chain`);
    }
  }
  return notes;
}

/**
 * Every chain Docker had before (BEFORE holds nothing but Docker's rules) is still there with the same rules
 * (as multisets), and every rule Docker had in a built-in chain is still in that chain.
 */
export function assertDockerKept(before: Ruleset, after: Ruleset, label: string): void {
  for (const [tname, t] of before.tables) {
    const a = after.tables.get(tname);
    for (const c of t.chains.values()) {
      if (c.builtin) {
        const now = rulesOf(after, tname, c.name);
        for (const r of c.rules) assert.ok(now.includes(r.text), `${label}: Docker's ${tname}/${c.name} rule '${r.text}' is gone`);
      } else {
        assert.ok(a?.chains.has(c.name), `${label}: Docker's chain ${tname}/${c.name} is gone`);
        assert.deepEqual(sorted(rulesOf(after, tname, c.name)), sorted(c.rules.map((r) => r.text)), `${label}: Docker's chain ${tname}/${c.name}`);
      }
    }
  }
}
