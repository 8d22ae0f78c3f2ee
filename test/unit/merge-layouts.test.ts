// Strip + merge over every real Docker capture we hold: moby's layouts for 28.0–29.7 (IPv4
// scenarios and the IPv4/IPv6 iptabler goldens) and our lab's 20.10 / 26 / 28 captures.
//
// The user's file is the stock RHEL ruleset plus a stale save of the scenario (container
// addresses and published ports changed). With the scenario as the live ruleset, every
// stale Docker line must be stripped and the target must be, rule by rule, the live
// capture with the RHEL rules added: INPUT gets RHEL's rules, FORWARD gets RHEL's REJECT
// after Docker's rules (Docker inserts its FORWARD rules, so a Docker restart leaves them
// above the REJECT) but before the icc=false DROP (which Docker appends), every other
// chain is the capture's. Policies are the file's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseRuleset } from '../../src/core/parse.js';
import { classify, USER, verdictOf } from '../../src/core/classify.js';
import { strip } from '../../src/core/strip.js';
import { merge } from '../../src/core/merge.js';
import { learnDockerFacts } from '../../src/core/facts.js';
import { selectProfiles } from '../../src/core/owners/index.js';
import { chainsInSaveOrder, type Ruleset } from '../../src/core/model.js';
import { fixturesDir, saveCaptures, withoutComments } from '../helpers/fixtures.js';
import { rhelRules, userFileFrom } from '../helpers/merge-fixtures.js';

const profiles = selectProfiles();

function run(userText: string, liveText: string, family: 'ipv4' | 'ipv6') {
  const user = parseRuleset(userText, { file: 'user', family }).ruleset;
  const live = parseRuleset(liveText, { file: 'live', family }).ruleset;
  const facts = learnDockerFacts({ live: [live], files: [user] });
  const userCls = classify(user, profiles, facts);
  const stripped = strip(user, userCls);
  const merged = merge(stripped, live, classify(live, profiles, facts), facts);
  return { user, live, userCls, stripped, merged };
}

type Chains = Record<string, { policy: string | null; rules: string[] }>;
const snapshot = (rs: Ruleset, table: string): Chains =>
  Object.fromEntries(chainsInSaveOrder(rs.tables.get(table as 'filter')!).map((c) => [c.name, { policy: c.builtin ? c.policy : null, rules: c.rules.map((r) => r.text) }]));

const captures = saveCaptures().filter((c) => withoutComments(readFileSync(c.path, 'utf8')).trim() !== '' && !/\.oracle\./.test(c.path));

test('every capture is covered: 568 iptabler goldens, 45 layouts, the lab captures', () => {
  assert.ok(captures.length >= 613, `${captures.length} captures`);
  assert.ok(captures.some((c) => c.path.includes('/lab/20.10/')));
});

test('strip + merge of RHEL + a stale save against each capture gives the capture plus the RHEL rules', () => {
  const failures: string[] = [];
  for (const { path, family } of captures) {
    const name = relative(fixturesDir, path);
    const liveText = readFileSync(path, 'utf8');
    const { user, userCls, stripped, merged } = run(userFileFrom(liveText, family), liveText, family);
    const live = parseRuleset(liveText, { file: 'live', family }).ruleset;
    try {
      // every line of the stale save is stripped; no RHEL line is
      const kept = [...user.tables.values()].flatMap((t) => [...t.chains.values()].flatMap((c) => c.rules.filter((r) => verdictOf(userCls, t.name, c.name, r).owner === USER)));
      assert.deepEqual(kept.map((r) => `${r.chain} ${r.text}`).sort(), [
        ...rhelRules(family, 'INPUT').map((r) => `INPUT ${r}`), ...rhelRules(family, 'FORWARD').map((r) => `FORWARD ${r}`),
      ].sort(), 'kept lines');
      assert.ok(stripped.stripped.every((s) => s.owner === 'docker'), 'stripped by docker');
      for (const [table, lt] of live.tables) {
        const expected = snapshot(live, table);
        if (table === 'filter') {
          // Docker appends the icc=false `-i BR -o BR -j DROP` to FORWARD (≤28.0.0; lab oracle), so it
          // lands below the REJECT; all its other FORWARD rules are inserted above.
          const iccDrop = (r: string) => /^-i (\S+) -o \1 -j DROP$/.test(r);
          const fwd = expected.FORWARD.rules;
          expected.INPUT = { policy: 'ACCEPT', rules: [...expected.INPUT.rules, ...rhelRules(family, 'INPUT')] };
          expected.FORWARD = { policy: 'ACCEPT', rules: [...fwd.filter((r) => !iccDrop(r)), ...rhelRules(family, 'FORWARD'), ...fwd.filter(iccDrop)] };
          expected.OUTPUT.policy = 'ACCEPT';
        }
        assert.ok(lt, table);
        assert.deepEqual(snapshot(merged.target, table), expected, `table ${table}`);
      }
      assert.deepEqual(merged.warnings, [], 'warnings');
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split('\n').slice(0, 12).join('\n')}`);
    }
  }
  assert.equal(failures.length, 0, failures.slice(0, 3).join('\n\n'));
});
