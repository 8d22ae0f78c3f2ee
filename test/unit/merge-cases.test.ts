// Ownership and merge, case by case. Expected targets are written out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseRuleset } from '../../src/core/parse.js';
import { classify, verdictOf } from '../../src/core/classify.js';
import { strip } from '../../src/core/strip.js';
import { merge } from '../../src/core/merge.js';
import { learnDockerFacts } from '../../src/core/facts.js';
import { selectProfiles } from '../../src/core/owners/index.js';
import { writeRuleset } from '../../src/core/write.js';
import { fixture } from '../helpers/fixtures.js';
import { RHEL } from '../helpers/merge-fixtures.js';

function run(userText: string, liveText: string, opts: { preserve?: string[]; firewallBackend?: 'nftables' } = {}) {
  const profiles = selectProfiles(opts.preserve ?? []);
  const user = parseRuleset(userText, { file: 'user', family: 'ipv4' }).ruleset;
  const live = liveText ? parseRuleset(liveText, { file: 'live', family: 'ipv4' }).ruleset : { family: 'ipv4' as const, tables: new Map() };
  const facts = learnDockerFacts({ live: [live], files: [user], firewallBackend: opts.firewallBackend });
  const userCls = classify(user, profiles, facts);
  const stripped = strip(user, userCls);
  const merged = merge(stripped, live, classify(live, profiles, facts), facts);
  return { user, userCls, stripped, merged, out: writeRuleset(merged.target) };
}

const chainRules = (out: string, chain: string) => out.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
const layout = (name: string) => readFileSync(fixture('docker-layouts', name), 'utf8');
const lab = (name: string) => readFileSync(fixture('lab', name), 'utf8');

test('an "iptables": false user keeps hand-written docker0 rules when Docker has no chains live', () => {
  const file = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\n-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n';
  const r = run(file, '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
  assert.deepEqual(r.stripped.stripped, []);
  assert.deepEqual(chainRules(r.out, 'FORWARD'), ['-A FORWARD -i docker0 ! -o docker0 -j ACCEPT', '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT']);
  assert.deepEqual(chainRules(r.out, 'POSTROUTING'), ['-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE']);
  assert.ok(r.merged.notes.some((n) => /no Docker .* live/.test(n)));
});

test("a docker0 rule that matches none of Docker's shapes stays the user's even with Docker live", () => {
  const file = '*filter\n:FORWARD DROP [0:0]\n-A FORWARD -i docker0 -o eth0 -p tcp -m tcp --dport 443 -j ACCEPT\n-A FORWARD -i eth0 -o docker0 -s 10.9.0.0/16 -j ACCEPT\nCOMMIT\n';
  const r = run(file, lab('28/default-bridge.v4.rules'));
  assert.deepEqual(r.stripped.stripped, []);
  assert.deepEqual(chainRules(r.out, 'FORWARD'), [
    '-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-FORWARD',
    '-A FORWARD -i docker0 -o eth0 -p tcp -m tcp --dport 443 -j ACCEPT', '-A FORWARD -i eth0 -o docker0 -s 10.9.0.0/16 -j ACCEPT',
  ]);
});

test("DOCKER-USER: the file's contents win over live; Docker's jump to it comes from live", () => {
  const file = '*filter\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -s 203.0.113.0/24 -j DROP\n-A DOCKER-USER -j RETURN\nCOMMIT\n';
  const live = lab('28/default-bridge.v4.rules').replace(/(\*filter[\s\S]*?)COMMIT/, '$1-A DOCKER-USER -i eth9 -j DROP\nCOMMIT');
  const r = run(file, live);
  assert.deepEqual(chainRules(r.out, 'DOCKER-USER'), ['-A DOCKER-USER -s 203.0.113.0/24 -j DROP', '-A DOCKER-USER -j RETURN']);
  assert.deepEqual(chainRules(r.out, 'FORWARD'), ['-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-FORWARD']);
  assert.deepEqual(r.stripped.stripped.map((s) => s.text), ['-j DOCKER-USER'], 'only the stale jump is stripped');
});

test('DOCKER-USER: a file without it, or with only Docker\'s lone RETURN, keeps the live contents', () => {
  const live = lab('20.10/default-bridge.v4.rules').replace('-A DOCKER-USER -j RETURN', '-A DOCKER-USER -i eth9 -j DROP\n-A DOCKER-USER -j RETURN');
  for (const file of [RHEL.ipv4, '*filter\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j RETURN\nCOMMIT\n']) {
    const r = run(file, live);
    assert.deepEqual(chainRules(r.out, 'DOCKER-USER'), ['-A DOCKER-USER -i eth9 -j DROP', '-A DOCKER-USER -j RETURN']);
  }
  const lone = run('*filter\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j RETURN\nCOMMIT\n', live);
  assert.equal(lone.stripped.stripped.find((s) => s.text === '-j RETURN')?.reason, "Docker's default contents of DOCKER-USER");
});

test('a network removed since the save: its stale rules are stripped, learned from the file itself', () => {
  const stale = layout('docker-v29.7.2/usernet-portmap.rules');
  const r = run(stale, layout('docker-v29.7.2/new-daemon.rules'));
  assert.equal(r.out.includes('bridge1'), false, 'no bridge1 rule survives');
  assert.equal(r.out.includes('192.0.2.'), false, 'no stale container address survives');
  assert.deepEqual(chainRules(r.out, 'POSTROUTING'), ['-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE']);
  const reasons = r.stripped.stripped.map((s) => s.reason);
  assert.ok(reasons.includes('raw DROP guarding container 192.0.2.2 (direct access from outside bridge1)'), reasons.join('\n'));
  assert.ok(reasons.includes('MASQUERADE for Docker network 192.0.2.0/24 (bridge1)'));
});

test('Docker stopped (nothing live): the target is the stripped file, and the output says so', () => {
  // a full stale save: its filter DOCKER chains name docker0, so the nat MASQUERADE for it is Docker's
  const r = run(layout('docker-v29.7.2/new-daemon.rules').replace(':INPUT ACCEPT [0:0]', ':INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT'), '');
  assert.deepEqual([...r.merged.target.tables.keys()], ['filter', 'nat']);
  assert.deepEqual(chainRules(r.out, 'INPUT'), ['-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT']);
  assert.deepEqual(chainRules(r.out, 'POSTROUTING'), []);
  assert.equal(r.out.includes('DOCKER'), false);
  assert.ok(r.merged.notes.some((n) => n.startsWith('no Docker')));
});

test('tables the file does not name are left out of the target (left alone, as iptables-restore does)', () => {
  const r = run(RHEL.ipv4, layout('docker-v29.7.2/usernet-portmap.rules'));
  assert.deepEqual([...r.merged.target.tables.keys()], ['filter']);
});

test('reasons name the owner and what the rule is for', () => {
  const live = parseRuleset(layout('docker-v29.7.2/usernet-portmap-noproxy.rules'), { file: 'l', family: 'ipv4' }).ruleset;
  const facts = learnDockerFacts({ live: [live] });
  const cls = classify(live, selectProfiles(), facts);
  const reasons = [...live.tables.values()].flatMap((t) => [...t.chains.values()].flatMap((c) => c.rules.map((r) => verdictOf(cls, t.name, c.name, r).reason)));
  for (const want of [
    'jump to Docker chain DOCKER-FORWARD', 'in Docker chain DOCKER', 'MASQUERADE for Docker network 172.17.0.0/16 (docker0)',
    'hairpin MASQUERADE for container 192.0.2.2', 'MASQUERADE of local traffic into Docker bridge bridge1',
  ]) assert.ok(reasons.includes(want), `missing reason: ${want}`);
});

test('other owners are kept only when enabled with --preserve', () => {
  const live = '*filter\n:INPUT ACCEPT [0:0]\n:f2b-sshd - [0:0]\n:KUBE-FIREWALL - [0:0]\n-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\n-A INPUT -j KUBE-FIREWALL\n-A f2b-sshd -s 198.51.100.9/32 -j REJECT --reject-with icmp-port-unreachable\n-A f2b-sshd -j RETURN\n-A KUBE-FIREWALL -m mark --mark 0x8000/0x8000 -j DROP\nCOMMIT\n';
  const file = '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n';
  const off = run(file, live);
  assert.deepEqual(chainRules(off.out, 'INPUT'), ['-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT']);
  assert.equal(off.out.includes('f2b-sshd'), false);
  const on = run(file, live, { preserve: ['fail2ban', 'kube-proxy'] });
  assert.deepEqual(chainRules(on.out, 'INPUT'), ['-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd', '-A INPUT -j KUBE-FIREWALL', '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT']);
  assert.deepEqual(chainRules(on.out, 'f2b-sshd'), ['-A f2b-sshd -s 198.51.100.9/32 -j REJECT --reject-with icmp-port-unreachable', '-A f2b-sshd -j RETURN']);
  assert.throws(() => selectProfiles(['nosuch']), /unknown owner profile 'nosuch'/);
});

test("warns when Docker's nftables backend is in use and the file's FORWARD would drop container traffic", () => {
  const r = run(RHEL.ipv4.replace(':FORWARD ACCEPT', ':FORWARD DROP'), '', { firewallBackend: 'nftables' });
  assert.equal(r.merged.warnings.length, 1);
  assert.match(r.merged.warnings[0], /nftables firewall backend .* the FORWARD policy is DROP: forwarded traffic to containers would be dropped/);
});

test('owned rules keep their place: Docker inserts (above the user) or appends (below)', () => {
  const file = '*nat\n:POSTROUTING ACCEPT [0:0]\n:PREROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth9 -j MASQUERADE\n-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22\nCOMMIT\n';
  const r = run(file, layout('docker-v29.7.2/usernet-portmap-noproxy.rules'));
  assert.deepEqual(chainRules(r.out, 'POSTROUTING'), [
    '-A POSTROUTING -o bridge1 -m addrtype --src-type LOCAL -j MASQUERADE',
    '-A POSTROUTING -s 192.0.2.0/24 ! -o bridge1 -j MASQUERADE',
    '-A POSTROUTING -o docker0 -m addrtype --src-type LOCAL -j MASQUERADE',
    '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
    '-A POSTROUTING -o eth9 -j MASQUERADE',
    '-A POSTROUTING -s 192.0.2.2/32 -d 192.0.2.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
  ]);
  assert.deepEqual(chainRules(r.out, 'PREROUTING'), ['-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22', '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER']);
});

test('the configuration file: preserve lists, settings, and located errors', async () => {
  const { parseConfig } = await import('../../src/core/config.js');
  assert.deepEqual(parseConfig('# mine\npreserve = kube-proxy, fail2ban\npreserve = calico\ndocker-socket = /run/d.sock\nbackend = legacy\n', 'c'), {
    preserve: ['kube-proxy', 'fail2ban', 'calico'], dockerSocket: '/run/d.sock', backend: 'legacy',
  });
  assert.throws(() => parseConfig('preserve = x\ncolour = blue\nbackend = iptables\njunk\n', 'c'), (e: Error) =>
    e.message === "c:2: unknown setting 'colour' (known: preserve, docker-socket, backend, rules-ipv4, rules-ipv6, timeout, max-ruleset-size)\nc:3: backend must be auto, nft or legacy, not 'iptables'\nc:4: expected 'key = value' (at 'junk')");
  // the bound of every child process (issue 14, item 12): a duration of 1 s to 24 h
  assert.deepEqual(parseConfig('timeout = 1m30s\n', 'c'), { timeoutMs: 90_000 });
  assert.throws(() => parseConfig('timeout = forever\ntimeout = 25h\n', 'c'), (e: Error) =>
    e.message === "c:1: timeout: 'forever' is not a duration (say 90, 90s, 5m, 1h or 1m30s)\nc:2: timeout: '25h' is out of range (1s to 24h)" || assert.fail(e.message));
  // the ruleset limit (core/limits.ts): binary units, and a located error for anything else
  assert.equal(parseConfig('max-ruleset-size = 128M\n', 'c').maxRulesetSize, 128 * 1024 * 1024);
  assert.equal(parseConfig('max-ruleset-size = 512K\n', 'c').maxRulesetSize, 512 * 1024);
  assert.throws(() => parseConfig('\nmax-ruleset-size = lots\n', 'c'), /c:2: max-ruleset-size must be a size such as 64M/);
  assert.throws(() => parseConfig('max-ruleset-size = 0\n', 'c'), /c:1: max-ruleset-size must be a size/);
});

test('shapes without a moby capture: SCTP CHECKSUM, encrypted overlay, IPv6 loopback-published DROP', () => {
  const live = parseRuleset(
    '*filter\n:INPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n-A INPUT -p udp -m udp --dport 4789 -m u32 --u32 "0x0>>0x16&0x3c@0xc&0xffffff00=0x10000100" -j DROP\n' +
      '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p sctp -m sctp --dport 9000 -j ACCEPT\nCOMMIT\n' +
      '*mangle\n:POSTROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A POSTROUTING -d 172.17.0.2/32 -p sctp -m sctp --sport 9000 -j CHECKSUM --checksum-fill\n' +
      '-A POSTROUTING -d 10.5.0.0/16 -p sctp -j CHECKSUM --checksum-fill\n' +
      '-A OUTPUT -p udp -m udp --dport 4789 -m u32 --u32 "0x0>>0x16&0x3c@0xc&0xffffff00=0x10000100" -j MARK --set-xmark 0xd0c4e3/0xffffffff\nCOMMIT\n',
    { file: 'live', family: 'ipv4' },
  ).ruleset;
  const facts = learnDockerFacts({ live: [live] });
  const cls = classify(live, selectProfiles(), facts);
  const owner = (table: 'filter' | 'mangle', chain: string, i: number) => {
    const r = live.tables.get(table)!.chains.get(chain)!.rules[i];
    return `${verdictOf(cls, table, chain, r).owner}: ${verdictOf(cls, table, chain, r).reason}`;
  };
  assert.equal(owner('filter', 'INPUT', 0), 'docker: encrypted overlay (VXLAN 4789) rule of Docker swarm');
  assert.equal(owner('mangle', 'POSTROUTING', 0), 'docker: SCTP CHECKSUM for a Docker-published sctp port');
  assert.equal(owner('mangle', 'POSTROUTING', 1), 'user: user rule in built-in chain POSTROUTING', 'not a Docker address: the user\'s');
  assert.equal(owner('mangle', 'OUTPUT', 0), 'docker: encrypted overlay (VXLAN 4789) rule of Docker swarm');

  const v6 = parseRuleset(
    '*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d ::1/128 ! -i lo -p tcp -m tcp --dport 8080 -j DROP\n-A PREROUTING -d ::1/128 ! -i lo -p tcp -m tcp --dport 9999 -j DROP\nCOMMIT\n' +
      '*nat\n:DOCKER - [0:0]\n-A DOCKER ! -s fe80::/10 -d ::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::2]:80\nCOMMIT\n',
    { file: 'live6', family: 'ipv6' },
  ).ruleset;
  const f6 = learnDockerFacts({ live: [v6] });
  const c6 = classify(v6, selectProfiles(), f6);
  const pre = v6.tables.get('raw')!.chains.get('PREROUTING')!.rules;
  assert.equal(verdictOf(c6, 'raw', 'PREROUTING', pre[0]).reason, 'raw DROP guarding port 8080 published on ::1');
  assert.equal(verdictOf(c6, 'raw', 'PREROUTING', pre[1]).owner, 'user', 'port 9999 is not published by Docker');
});
