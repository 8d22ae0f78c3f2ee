// Kernel canonicalization against real iptables in throwaway network namespaces, for both
// backends. Real captures are already in iptables-save form, so they must come back
// unchanged; a hand-written file must come back as iptables 1.8.9 prints it (expected text
// taken from iptables-save by hand, not from our code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { writeRuleset } from '../../src/core/write.js';
import { canonicalUserPart } from '../../src/canonical-form.js';
import { parseRuleset } from '../../src/core/parse.js';
import { canonicalizeInKernel, KernelRefusedError } from '../../src/io/canonicalize.js';
import { requireRoot } from '../helpers/root.js';
import { fixture, fixturesDir, listFiles, withoutComments } from '../helpers/fixtures.js';

const BACKENDS = ['nft', 'legacy'] as const;

const ourNamespaces = () => {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(`isr-canon-${process.pid}-`));
  } catch {
    return [];
  }
};

const HAND_WRITTEN = `*filter
:INPUT DROP [0:0]
:ZZZ - [0:0]
:AAA - [0:0]
-A INPUT -j ZZZ
-A AAA -p tcp --dport 22 -j ACCEPT
-A INPUT -s 10.0.0.5/24 -p tcp --dport ssh -m comment --comment "a b" -j REJECT
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p 47 -j ACCEPT
-A INPUT -p icmp --icmp-type echo-request -j ACCEPT
-A INPUT -m multiport -p tcp --dports 80,443 -j ACCEPT
-A FORWARD -i eth+ -o + -j ACCEPT
-A INPUT -d 10.1.2.3/255.255.0.0 -j ACCEPT
COMMIT
`;
const HAND_WRITTEN_CANONICAL = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:AAA - [0:0]
:ZZZ - [0:0]
-A INPUT -j ZZZ
-A INPUT -s 10.0.0.0/24 -p tcp -m tcp --dport 22 -m comment --comment "a b" -j REJECT --reject-with icmp-port-unreachable
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p gre -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
-A INPUT -d 10.1.0.0/16 -j ACCEPT
-A FORWARD -i eth+ -j ACCEPT
-A AAA -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`;

for (const backend of BACKENDS) {
  test(`[${backend}] real captures come back from the kernel unchanged (ipsets created for 28.0.0)`, async (t) => {
    if (!requireRoot(t)) return;
    const layouts = listFiles(fixture('docker-layouts'), (n) => n.endsWith('.rules'));
    const goldens = listFiles(fixture('docker-layouts'), (n) => n.endsWith('.golden')).filter((_, i) => i % 16 === 0);
    assert.ok(layouts.length >= 45 && goldens.some((g) => g.includes('ip6tables')));
    const mismatches: string[] = [];
    for (const path of [...layouts, ...goldens]) {
      const text = readFileSync(path, 'utf8');
      const family = path.includes('ip6tables') ? 'ipv6' : 'ipv4';
      const { ruleset } = parseRuleset(text, { file: path, family });
      const kernel = await canonicalizeInKernel(ruleset, backend);
      if (kernel !== withoutComments(text)) mismatches.push(relative(fixturesDir, path));
    }
    assert.deepEqual(mismatches, []);
    assert.deepEqual(ourNamespaces(), [], 'throwaway namespaces left behind');
  });

  test(`[${backend}] a hand-written file comes back in iptables-save form`, async (t) => {
    if (!requireRoot(t)) return;
    const { ruleset } = parseRuleset(HAND_WRITTEN, { file: 'hand', family: 'ipv4' });
    assert.equal(await canonicalizeInKernel(ruleset, backend), HAND_WRITTEN_CANONICAL);
  });

  test(`[${backend}] ipsets of one, two and three dimensions are created for -m set rules`, async (t) => {
    if (!requireRoot(t)) return;
    const text = '*filter\n-A INPUT -m set --match-set one src -j DROP\n-A INPUT -m set --match-set pair src,dst -j DROP\n-A INPUT -m set ! --match-set trip src,dst,dst -j ACCEPT\nCOMMIT\n';
    const { ruleset } = parseRuleset(text, { file: 'sets', family: 'ipv4' });
    const out = await canonicalizeInKernel(ruleset, backend);
    assert.match(out, /^-A INPUT -m set --match-set pair src,dst -j DROP$/m);
    assert.match(out, /^-A INPUT -m set ! --match-set trip src,dst,dst -j ACCEPT$/m);
  });

  test(`[${backend}] a ruleset the kernel refuses fails with iptables' message and leaves no namespace`, async (t) => {
    if (!requireRoot(t)) return;
    const { ruleset } = parseRuleset('*filter\n-A INPUT -m nosuchmatch --foo -j ACCEPT\nCOMMIT\n', { file: 'bad', family: 'ipv4' });
    await assert.rejects(canonicalizeInKernel(ruleset, backend), (e: unknown) =>
      e instanceof KernelRefusedError && /^bad:2: iptables refused this rule: .*nosuchmatch.* \(-A INPUT -m nosuchmatch --foo -j ACCEPT\)$/i.test(e.message));
    assert.deepEqual(ourNamespaces(), []);
  });
}

for (const backend of BACKENDS) {
  test(`[${backend}] canonical cache: a file iptables prints back unchanged is cached as a mark and read back as itself; a loose one as the kernel's text`, async (t) => {
    if (!requireRoot(t)) return;
    const stateDir = mkdtempSync(join(tmpdir(), 'isr-canon-cache-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const cacheFiles = () => readdirSync(join(stateDir, 'cache')).map((n) => readFileSync(join(stateDir, 'cache', n), 'utf8'));
    const opts = { mode: 'kernel' as const, family: 'ipv4' as const, backend, stateDir };

    // already canonical (as any iptables-save output): the cache holds only a mark
    const canonical = parseRuleset(HAND_WRITTEN_CANONICAL, { file: 'saved.rules', family: 'ipv4' }).ruleset;
    const first = await canonicalUserPart(canonical, opts);
    assert.equal(first.cached, false);
    assert.deepEqual(cacheFiles().map((c) => c.length < 100), [true]);
    const again = await canonicalUserPart(canonical, opts);
    assert.equal(again.cached, true);
    for (const r of [first, again]) {
      assert.equal(writeRuleset(r.ruleset), HAND_WRITTEN_CANONICAL);
      // the rules are the file's own: messages can name its lines
      assert.equal(r.ruleset.tables.get('filter')!.chains.get('AAA')!.rules[0].source?.file, 'saved.rules');
    }

    // written loosely: the cache holds the kernel's text, and both reads give it
    rmSync(join(stateDir, 'cache'), { recursive: true });
    const loose = parseRuleset(HAND_WRITTEN, { file: 'hand', family: 'ipv4' }).ruleset;
    const cold = await canonicalUserPart(loose, opts);
    assert.deepEqual(cacheFiles(), [HAND_WRITTEN_CANONICAL]);
    const warm = await canonicalUserPart(loose, opts);
    assert.equal(warm.cached, true);
    assert.equal(writeRuleset(cold.ruleset), HAND_WRITTEN_CANONICAL);
    assert.equal(writeRuleset(warm.ruleset), HAND_WRITTEN_CANONICAL);
  });
}

test('a canonicalization namespace left by a killed run is removed by the next one; live ones stay', async (t) => {
  if (!requireRoot(t)) return;
  const dead = spawnSync('true').pid!; // a pid that has exited
  const stale = `isr-canon-${dead}-7`;
  const live = `isr-canon-${process.pid}-999`;
  try {
    for (const n of [stale, live]) assert.equal(spawnSync('ip', ['netns', 'add', n]).status, 0);
    const text = '*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n';
    const out = await canonicalizeInKernel(parseRuleset(text, { file: 'x', family: 'ipv4' }).ruleset, 'nft');
    assert.match(out, /-p tcp -m tcp --dport 22 -j ACCEPT/);
    const left = readdirSync('/run/netns');
    assert.equal(left.includes(stale), false, 'the dead run\'s namespace is gone');
    assert.equal(left.includes(live), true, 'a namespace of a live process is kept');
  } finally {
    for (const n of [stale, live]) spawnSync('ip', ['netns', 'delete', n]);
  }
});
