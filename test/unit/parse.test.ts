// The command stream is resolved to the chain contents iptables-restore would leave.
// Expected orders below were checked by hand against iptables-restore 1.8.9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleset } from '../../src/core/parse.js';
import { ParseError } from '../../src/errors.js';
import type { Ruleset } from '../../src/core/model.js';

const parse = (text: string, family: 'ipv4' | 'ipv6' = 'ipv4') => parseRuleset(text, { file: 'f', family });
const texts = (rs: Ruleset, table: string, chain: string) =>
  (rs.tables.get(table as 'filter')!.chains.get(chain)?.rules ?? []).map((r) => r.text);

test('a minimal iptables-save file gives tables, chains, policies, counters and rules', () => {
  const { ruleset } = parse('*filter\n:INPUT DROP [5:300]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:SSH - [0:0]\n[7:420] -A INPUT -p tcp -j SSH\n-A SSH -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n');
  const filter = ruleset.tables.get('filter')!;
  const input = filter.chains.get('INPUT')!;
  assert.equal(input.policy, 'DROP');
  assert.deepEqual(input.counters, { packets: '5', bytes: '300' });
  assert.equal(input.builtin, true);
  assert.deepEqual(input.rules[0].args, ['-p', 'tcp', '-j', 'SSH']);
  assert.deepEqual(input.rules[0].counters, { packets: '7', bytes: '420' });
  assert.deepEqual(input.rules[0].target, { kind: 'jump', name: 'SSH' });
  assert.deepEqual(input.rules[0].source, { file: 'f', line: 6 });
  const ssh = filter.chains.get('SSH')!;
  assert.equal(ssh.builtin, false);
  assert.equal(ssh.policy, null);
  assert.equal(ssh.rules[0].chain, 'SSH');
});

test('-I with and without a position, -A, -D by number and by spec give iptables order', () => {
  const { ruleset } = parse(
    ['*filter', '-A INPUT -j ACCEPT -m comment --comment one', '-A INPUT -j ACCEPT -m comment --comment two',
      '-I INPUT -m comment --comment zero -j ACCEPT', '-I INPUT 3 -m comment --comment between -j ACCEPT',
      '-A INPUT -m comment --comment last -j DROP', '-D INPUT 1', '-D INPUT -m comment --comment last -j DROP', 'COMMIT', ''].join('\n'),
  );
  assert.deepEqual(texts(ruleset, 'filter', 'INPUT'), [
    '-j ACCEPT -m comment --comment one', '-m comment --comment between -j ACCEPT', '-j ACCEPT -m comment --comment two',
  ]);
});

test('-R replaces in place; -F empties one chain or all; -Z zeroes counters', () => {
  const { ruleset } = parse('*filter\n:A - [0:0]\n[1:2] -A INPUT -j A\n-A INPUT -j DROP\n-R INPUT 2 -j ACCEPT\n-A A -j RETURN\n-F A\n-Z INPUT\nCOMMIT\n');
  assert.deepEqual(texts(ruleset, 'filter', 'INPUT'), ['-j A', '-j ACCEPT']);
  assert.deepEqual(texts(ruleset, 'filter', 'A'), []);
  assert.deepEqual(ruleset.tables.get('filter')!.chains.get('INPUT')!.rules[0].counters, { packets: '0', bytes: '0' });
  const all = parse('*filter\n:A - [0:0]\n-A INPUT -j A\n-A A -j RETURN\n-F\nCOMMIT\n').ruleset;
  assert.deepEqual(texts(all, 'filter', 'INPUT'), []);
  assert.deepEqual(texts(all, 'filter', 'A'), []);
});

test('-N, -X, -E create, delete and rename user chains; jumps follow a rename', () => {
  const { ruleset } = parse('*filter\n-N OLD\n-N GONE\n-A INPUT -j OLD\n-A OLD -j ACCEPT\n-X GONE\n-E OLD NEW\nCOMMIT\n');
  const chains = [...ruleset.tables.get('filter')!.chains.keys()];
  assert.deepEqual(chains, ['INPUT', 'FORWARD', 'OUTPUT', 'NEW']);
  assert.deepEqual(texts(ruleset, 'filter', 'INPUT'), ['-j NEW']);
  assert.equal(ruleset.tables.get('filter')!.chains.get('INPUT')!.rules[0].target!.name, 'NEW');
  assert.deepEqual(texts(ruleset, 'filter', 'NEW'), ['-j ACCEPT']);
  const x = parse('*filter\n:A - [0:0]\n:B - [0:0]\n-X\nCOMMIT\n').ruleset;
  assert.deepEqual([...x.tables.get('filter')!.chains.keys()], ['INPUT', 'FORWARD', 'OUTPUT']);
});

test('long command forms and unambiguous prefixes work like the short ones', () => {
  const { ruleset } = parse('*filter\n--new-chain C\n--append C -j ACCEPT\n--insert C 1 -j DROP\n--app C -j RETURN\n--policy INPUT DROP\n--delete C 2\nCOMMIT\n');
  assert.deepEqual(texts(ruleset, 'filter', 'C'), ['-j DROP', '-j RETURN']);
  assert.equal(ruleset.tables.get('filter')!.chains.get('INPUT')!.policy, 'DROP');
});

test('the command may follow options, as getopt allows; the text is then rebuilt', () => {
  const { ruleset } = parse('*filter\n-p tcp -A INPUT --dport 22 -m comment --comment "a b" -j ACCEPT\nCOMMIT\n');
  const r = ruleset.tables.get('filter')!.chains.get('INPUT')!.rules[0];
  assert.deepEqual(r.args, ['-p', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'a b', '-j', 'ACCEPT']);
  assert.equal(r.text, '-p tcp --dport 22 -m comment --comment "a b" -j ACCEPT');
});

test('-c/--set-counters inside a rule become the rule counters', () => {
  const { ruleset } = parse('*filter\n-A INPUT -c 10 20 -j ACCEPT\nCOMMIT\n');
  const r = ruleset.tables.get('filter')!.chains.get('INPUT')!.rules[0];
  assert.deepEqual(r.counters, { packets: '10', bytes: '20' });
  assert.deepEqual(r.args, ['-j', 'ACCEPT']);
});

test('negation: `!` before an option is kept; old-style `--opt ! value` is rewritten with a warning', () => {
  const ok = parse('*filter\n-A INPUT ! -s 10.0.0.1 -p tcp ! --dport 22 -j DROP\nCOMMIT\n');
  assert.equal(ok.warnings.length, 0);
  const old = parse('*filter\n-A INPUT -p tcp --dport ! 22 -j DROP\nCOMMIT\n');
  const r = old.ruleset.tables.get('filter')!.chains.get('INPUT')!.rules[0];
  assert.deepEqual(r.args, ['-p', 'tcp', '!', '--dport', '22', '-j', 'DROP']);
  assert.equal(old.warnings.length, 1);
  assert.match(old.warnings[0].reason, /old-style negation '--dport ! 22'/);
  assert.equal(old.warnings[0].line, 2);
});

test('goto and jump targets are recorded; builtin chains exist without declaration', () => {
  const { ruleset } = parse('*nat\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -g DOCKER\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n');
  const nat = ruleset.tables.get('nat')!;
  assert.deepEqual(nat.chains.get('PREROUTING')!.rules[0].target, { kind: 'goto', name: 'DOCKER' });
  assert.deepEqual(nat.chains.get('POSTROUTING')!.rules[0].target, { kind: 'jump', name: 'MASQUERADE' });
  assert.equal(nat.chains.get('PREROUTING')!.policy, null);
});

test('IPv6 rulesets take IPv6 addresses and ip6tables-only targets', () => {
  const { ruleset } = parse('*nat\n-A POSTROUTING -s fd00::/64 ! -o br0 -j MASQUERADE\nCOMMIT\n*mangle\n-A PREROUTING -j HL --hl-set 64\nCOMMIT\n', 'ipv6');
  assert.equal(ruleset.family, 'ipv6');
  assert.deepEqual([...ruleset.tables.keys()], ['nat', 'mangle']);
  assert.throws(() => parse('*mangle\n-A PREROUTING -j TTL --ttl-set 64\nCOMMIT\n', 'ipv6'), (e: unknown) =>
    e instanceof ParseError && /target 'TTL' exists only for IPv4/.test(e.message));
});

test('every error of a file is reported, each with its line', () => {
  assert.throws(
    () => parse('*filter\n-A NOPE -j ACCEPT\n-A INPUT -j NOWHERE\n-A INPUT -s 1.2.3.4 -j ACCEPT\nCOMMIT\n'),
    (e: unknown) => e instanceof ParseError && e.diagnostics.map((d) => d.line).join(',') === '2,3',
  );
});

test("an extension's own option is not taken for an abbreviated core option (`-m recent --set`)", () => {
  const { ruleset } = parse('*filter\n-A INPUT -p tcp --dport 22 -m recent --set --name ssh -j ACCEPT\n-A INPUT -m set --set blocked src -j DROP\nCOMMIT\n');
  const rules = ruleset.tables.get('filter')!.chains.get('INPUT')!.rules;
  assert.deepEqual(rules[0].args, ['-p', 'tcp', '--dport', '22', '-m', 'recent', '--set', '--name', 'ssh', '-j', 'ACCEPT']);
  assert.equal(rules[0].counters, undefined);
  assert.deepEqual(rules[1].args.slice(0, 4), ['-m', 'set', '--set', 'blocked']);
  // while --set-c, an unambiguous abbreviation of --set-counters, still sets counters
  const c = parse('*filter\n-A INPUT --set-c 5 6 -j ACCEPT\nCOMMIT\n').ruleset.tables.get('filter')!.chains.get('INPUT')!.rules[0];
  assert.deepEqual(c.counters, { packets: '5', bytes: '6' });
});
