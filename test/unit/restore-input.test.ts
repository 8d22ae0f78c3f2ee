// The minimal --noflush input, checked by replaying it: the live ruleset followed by the
// generated commands, resolved as iptables-restore would, must give the target. And it must
// never name an owned chain or delete an owned rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseRuleset } from '../../src/core/parse.js';
import { writeRuleset } from '../../src/core/write.js';
import { classify, USER } from '../../src/core/classify.js';
import { strip } from '../../src/core/strip.js';
import { merge } from '../../src/core/merge.js';
import { learnDockerFacts } from '../../src/core/facts.js';
import { selectProfiles } from '../../src/core/owners/index.js';
import { restoreInputs, type Ownership } from '../../src/core/restore-input.js';
import type { Rule, Ruleset, TableName } from '../../src/core/model.js';
import { fixture, saveCaptures, withoutComments } from '../helpers/fixtures.js';

function setup(userText: string, liveText: string) {
  const profiles = selectProfiles();
  const user = parseRuleset(userText, { file: 'user', family: 'ipv4' }).ruleset;
  const live = parseRuleset(liveText, { file: 'live', family: 'ipv4' }).ruleset;
  const facts = learnDockerFacts({ live: [live], files: [user] });
  const liveCls = classify(live, profiles, facts);
  const target = merge(strip(user, classify(user, profiles, facts)), live, liveCls, facts).target;
  const ownedRules = new Set<Rule>();
  for (const t of live.tables.values()) for (const c of t.chains.values()) if (c.builtin) for (const r of c.rules) if (liveCls.rules.get(r)?.owner !== USER) ownedRules.add(r);
  const own: Ownership = {
    ownedChains: (t: TableName) => new Set([...(liveCls.chains.get(t)?.entries() ?? [])].filter(([, v]) => v.owner !== USER && !v.userContent).map(([k]) => k)),
    isOwnedRule: (r) => ownedRules.has(r),
  };
  return { live, target, own };
}

/** live, then the generated commands, as iptables-restore --noflush would resolve them. */
function replay(live: Ruleset, inputs: ReturnType<typeof restoreInputs>): Ruleset {
  const byTable = new Map(inputs.map((w) => [w.table, w.input.split('\n').slice(1, -2)]));
  const parts: string[] = [];
  for (const t of live.tables.values()) {
    const text = writeRuleset({ family: live.family, tables: new Map([[t.name, t]]) }).split('\n');
    parts.push(...text.slice(0, -2), ...(byTable.get(t.name) ?? []), 'COMMIT');
    byTable.delete(t.name);
  }
  for (const [name, cmds] of byTable) parts.push(`*${name}`, ...cmds, 'COMMIT');
  return parseRuleset(parts.join('\n') + '\n', { file: 'replay', family: live.family }).ruleset;
}

const text = (rs: Ruleset, tables: Iterable<string>) => writeRuleset(rs, { tables: [...tables] }).replace(/\[\d+:\d+\]/g, '');

test('replaying the input over live gives the target, for a user file against every lab and layout capture', () => {
  const userVariants = [
    readFileSync(fixture('rhel-iptables-services.rules'), 'utf8'),
    '*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:MINE - [0:0]\n-A INPUT -j MINE\n-A MINE -p tcp -m tcp --dport 22 -j ACCEPT\n-A FORWARD -s 203.0.113.0/24 -j DROP\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth9 -j MASQUERADE\nCOMMIT\n',
  ];
  const captures = saveCaptures().filter((c) => c.family === 'ipv4' && !c.path.includes('.oracle.') && withoutComments(readFileSync(c.path, 'utf8')).trim()).filter((_, i) => i % 4 === 0);
  assert.ok(captures.length > 50);
  for (const c of captures) {
    for (const u of userVariants) {
      // live: the capture with some user rules of yesterday in it (to be replaced)
      const liveText = withoutComments(readFileSync(c.path, 'utf8')).replace(/(\*filter[\s\S]*?)COMMIT/, '$1:OLD - [0:0]\n-A FORWARD -d 198.51.100.9/32 -j DROP\n-A INPUT -j OLD\n-A OLD -j ACCEPT\nCOMMIT');
      const { live, target, own } = setup(u, liveText);
      const inputs = restoreInputs(live, target, own);
      const after = replay(live, inputs);
      assert.equal(text(after, target.tables.keys()), text(target, target.tables.keys()), c.path);
      for (const w of inputs) {
        for (const owned of own.ownedChains(w.table)) {
          assert.doesNotMatch(w.input, new RegExp(`^-[FXNAIDR] ${owned.replace(/[-]/g, '\\-')}( |$)`, 'm'), `${c.path}: writes owned chain ${owned}`);
        }
      }
    }
  }
});

test('nothing to do gives no input; a one-rule change in a user chain edits only that rule of that chain', () => {
  const live = '*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A INPUT -j B\n-A A -j ACCEPT\n-A B -j DROP\nCOMMIT\n';
  const same = setup(live, live);
  assert.deepEqual(restoreInputs(same.live, same.target, same.own), []);
  const one = setup(live.replace('-A B -j DROP', '-A B -j REJECT --reject-with icmp-port-unreachable'), live);
  const w = restoreInputs(one.live, one.target, one.own);
  assert.deepEqual(w.map((x) => x.input), ['*filter\n-D B -j DROP\n-I B 1 -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n']);
  const many = setup(live.replace('-A B -j DROP', '-A B -j REJECT --reject-with icmp-port-unreachable').replace('-A A -j ACCEPT', Array.from({ length: 20 }, (_, i) => `-A A -s 10.0.0.${i}/32 -j ACCEPT`).join('\n')), live);
  const [m] = restoreInputs(many.live, many.target, many.own);
  assert.match(m.input, /^-F A$/m, 'a chain that changes a lot is flushed and refilled');
  assert.deepEqual(m.rewritten, ['A']);
  assert.deepEqual(m.edited, ['B']);
});

test("FORWARD with Docker's rules is edited surgically: Docker's rules are never deleted", () => {
  const liveText = withoutComments(readFileSync(fixture('lab', '20.10', 'default-bridge.v4.rules'), 'utf8'))
    .replace(/(\*filter[\s\S]*?)COMMIT/, '$1-A FORWARD -s 203.0.113.7/32 -j DROP\n-A FORWARD -j REJECT --reject-with icmp-host-prohibited\nCOMMIT');
  const user = '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -s 203.0.113.8/32 -j DROP\n-A FORWARD -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n';
  const { live, target, own } = setup(user, liveText);
  const [w] = restoreInputs(live, target, own);
  // the user's block ends FORWARD: its changed tail is deleted by spec and appended, no positions
  assert.equal(w.input, '*filter\n-P FORWARD ACCEPT\n-D FORWARD -s 203.0.113.7/32 -j DROP\n-D FORWARD -j REJECT --reject-with icmp-host-prohibited\n-A FORWARD -s 203.0.113.8/32 -j DROP\n-A FORWARD -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n');
});

test('rules of the same text: replaying the input still gives the target, in user chains and built-in ones (random edits)', () => {
  // -D by specification takes the first rule of that text: with duplicates that may be another one
  let x = 11;
  const rnd = (k: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % k);
  const rule = () => `-s 10.0.0.${rnd(4)}/32 -j ${rnd(2) ? 'ACCEPT' : 'DROP'}`; // few distinct texts: many duplicates
  const failures: string[] = [];
  for (let k = 0; k < 400; k++) {
    const a = Array.from({ length: 1 + rnd(12) }, rule);
    const b = a.filter(() => rnd(5) > 0).map((r) => (rnd(6) === 0 ? rule() : r));
    for (let i = rnd(3); i > 0; i--) b.splice(rnd(b.length + 1), 0, rule());
    for (const chain of ['U', 'INPUT']) {
      const text = (rules: string[]) => `*filter\n:INPUT ACCEPT [0:0]\n:U - [0:0]\n-A INPUT -p tcp -j U\n${rules.map((r) => `-A ${chain} ${r}`).join('\n')}\nCOMMIT\n`;
      const { live, target, own } = setup(text(b), text(a));
      const after = replay(live, restoreInputs(live, target, own));
      if (writeRuleset(after) !== writeRuleset(target)) failures.push(`${chain}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
    }
  }
  assert.deepEqual(failures.slice(0, 3), []);
});
