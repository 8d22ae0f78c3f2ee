// The oracle: for every lab engine × scenario, what the kernel held after "plain
// iptables-restore of the probe file, then restart dockerd (live-restore)" — captured from
// real engines (test/fixtures/lab/ORACLE.md). Merging the probe against the capture taken
// before must give that state, with these intentional differences, each asserted:
//
//  1. DOCKER-USER on 20.10 and 26: the engine does not recreate the chain or its FORWARD
//     jump on a live-restore restart (a Docker defect: DOCKER-USER rules silently stop
//     applying). We keep both, as they were live.
//  2. Policies come from the user's file: 20.10 and 26 set the ip6tables FORWARD policy to
//     DROP again on restart; the probe says ACCEPT.
//  3. The order *between* Docker networks varies from run to run of the same engine, so
//     Docker's rules above and below the user's block, and inside Docker's chains, are
//     compared as multisets; the user's block itself is compared exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parseRuleset } from '../../src/core/parse.js';
import { classify } from '../../src/core/classify.js';
import { strip } from '../../src/core/strip.js';
import { merge } from '../../src/core/merge.js';
import { learnDockerFacts } from '../../src/core/facts.js';
import { selectProfiles } from '../../src/core/owners/index.js';
import { BUILTIN_CHAINS, type Ruleset, type TableName } from '../../src/core/model.js';
import { fixture, withoutComments } from '../helpers/fixtures.js';

const ENGINES = ['20.10', '26', '28'];
const SCENARIOS = ['default-bridge', 'user-bridge', 'internal', 'noicc', 'ipv6', 'noproxy'];

const parse = (text: string, family: 'ipv4' | 'ipv6', file: string) => parseRuleset(text, { file, family }).ruleset;
const rulesOf = (rs: Ruleset, table: TableName, chain: string) => rs.tables.get(table)?.chains.get(chain)?.rules.map((r) => r.text) ?? [];

/** Split a built-in chain around the user's block: [above, block, below]. */
function around(rules: string[], userBlock: string[]): [string[], string[], string[]] {
  if (userBlock.length === 0) return [rules, [], []];
  const start = rules.indexOf(userBlock[0]);
  assert.ok(start >= 0, `user block not found in ${JSON.stringify(rules)}`);
  return [rules.slice(0, start), rules.slice(start, start + userBlock.length), rules.slice(start + userBlock.length)];
}

const sorted = (xs: string[]) => [...xs].sort();

let compared = 0;
for (const engine of ENGINES) {
  for (const scenario of SCENARIOS) {
    for (const v of ['v4', 'v6'] as const) {
      const family = v === 'v4' ? 'ipv4' : 'ipv6';
      const oraclePath = fixture('lab', engine, `${scenario}.oracle.${v}.rules`);
      test(`oracle ${engine} ${scenario} ${v}: merge = plain restore + Docker restart`, () => {
        assert.ok(existsSync(oraclePath), `missing oracle capture ${oraclePath}`);
        const before = withoutComments(readFileSync(fixture('lab', engine, `${scenario}.${v}.rules`), 'utf8'));
        const probe = parse(readFileSync(fixture('oracle', `probe.${v}.rules`), 'utf8'), family, 'probe');
        const live = before.trim() ? parse(before, family, 'live') : { family, tables: new Map() } as Ruleset;
        const oracle = parse(readFileSync(oraclePath, 'utf8'), family, 'oracle');
        const profiles = selectProfiles();
        const facts = learnDockerFacts({ live: [live], files: [probe] });
        const merged = merge(strip(probe, classify(probe, profiles, facts)), live, classify(live, profiles, facts), facts);
        const target = merged.target;

        for (const table of probe.tables.keys()) {
          const ours = target.tables.get(table)!;
          const theirs = oracle.tables.get(table);
          assert.ok(theirs, `oracle has no ${table} table`);
          const oracleLacksDockerUser = table === 'filter' && !theirs.chains.has('DOCKER-USER') && ours.chains.has('DOCKER-USER');
          if (oracleLacksDockerUser) {
            // difference 1
            assert.ok(['20.10', '26'].includes(engine), `DOCKER-USER missing from the ${engine} oracle`);
            assert.equal(rulesOf(target, 'filter', 'FORWARD')[0], '-j DOCKER-USER');
            assert.deepEqual(rulesOf(target, 'filter', 'DOCKER-USER'), rulesOf(live, 'filter', 'DOCKER-USER'));
          }
          const skip = (name: string) => oracleLacksDockerUser && name === 'DOCKER-USER';
          assert.deepEqual([...ours.chains.keys()].filter((n) => !skip(n)).sort(), [...theirs.chains.keys()].sort(), `${table}: chains`);
          for (const name of BUILTIN_CHAINS[table]) {
            const block = rulesOf(probe, table, name);
            const [a1, b1, c1] = around(rulesOf(target, table, name).filter((r) => !(skip('DOCKER-USER') && r === '-j DOCKER-USER')), block);
            const [a2, b2, c2] = around(rulesOf(oracle, table, name), block);
            assert.deepEqual(b1, b2, `${table}/${name}: the user's block`);
            assert.deepEqual(sorted(a1), sorted(a2), `${table}/${name}: Docker's rules above the user's`);
            assert.deepEqual(sorted(c1), sorted(c2), `${table}/${name}: Docker's rules below the user's`);
            const policy = ours.chains.get(name)!.policy;
            assert.equal(policy, probe.tables.get(table)!.chains.get(name)!.policy, `${table}/${name}: policy from the file`); // difference 2
          }
          for (const c of ours.chains.values()) {
            if (c.builtin || skip(c.name)) continue;
            assert.deepEqual(sorted(c.rules.map((r) => r.text)), sorted(rulesOf(oracle, table, c.name)), `${table}/${c.name}`);
          }
        }
        compared++;
      });
    }
  }
}

test('all 36 oracle captures were compared', () => {
  assert.equal(compared, 36);
});
