// plan against real iptables in throwaway namespaces, both backends. For every capture we
// hold (moby layouts, a sample of the iptabler goldens, our lab captures): load it into a
// namespace as the live ruleset, plan the RHEL ruleset saved on that host (stale Docker
// rules included) → exit 2; load the plan's target with plain iptables-restore; plan again
// → exit 0. No churn: kernel-printed forms must compare equal, also for a rule the user
// wrote loosely (`-p tcp --dport 2222 -s 10.1.2.3`, which iptables prints differently).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { planCommand } from '../../src/commands/plan.js';
import { EXIT } from '../../src/exit-codes.js';
import { parseRuleset } from '../../src/core/parse.js';
import { createNetns, deleteNetns } from '../../src/io/netns.js';
import { createSets, ipsetsUsed } from '../../src/io/canonicalize.js';
import { restore } from '../../src/io/iptables.js';
import { requireRoot } from '../helpers/root.js';
import { fixturesDir, saveCaptures, withoutComments } from '../helpers/fixtures.js';
import { recordOutput } from '../helpers/output.js';
import { userFileFrom } from '../helpers/merge-fixtures.js';

const captures = saveCaptures()
  .filter((c) => !c.path.includes('.oracle.'))
  .filter((c, i) => !c.path.endsWith('.golden') || i % 12 === 0)
  .filter((c) => withoutComments(readFileSync(c.path, 'utf8')).trim() !== '');

for (const backend of ['nft', 'legacy'] as const) {
  test(`[${backend}] plan → load target → plan is 0 on ${captures.length} captures (no churn)`, async (t) => {
    if (!requireRoot(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'isr-plan-ns-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const failures: string[] = [];
    let cachedSecond = 0;
    for (const { path, family } of captures) {
      const name = relative(fixturesDir, path);
      const liveText = readFileSync(path, 'utf8');
      const file = join(dir, 'user.rules');
      // plus a rule written the way people write them, not the way iptables prints them
      const loose = family === 'ipv4' ? '-A INPUT -p tcp --dport 2222 -s 10.1.2.3 -j ACCEPT' : '-A INPUT -p tcp --dport 2222 -s 2001:db8::7 -j ACCEPT';
      writeFileSync(file, userFileFrom(liveText, family).replace(/^(-A INPUT -j REJECT.*)$/m, `${loose}\n$1`));
      const ns = await createNetns('plantest');
      try {
        const live = parseRuleset(liveText, { file: name, family }).ruleset;
        await createSets(ipsetsUsed(live), family, ns.path);
        await restore(withoutComments(liveText), { family, backend, netns: ns.path });
        const opts = { file, family, backend, netns: ns.path, canonical: 'kernel' as const, stateDir: join(dir, 'state'), dockerSocket: '/nonexistent/docker.sock', json: true, color: false };
        const first = recordOutput();
        const c1 = await planCommand(opts, first);
        if (c1 !== EXIT.CHANGES) failures.push(`${name}: first plan exit ${c1}`);
        const plan = JSON.parse(first.stdout);
        await restore(plan.target, { family, backend, netns: ns.path });
        const second = recordOutput();
        const c2 = await planCommand(opts, second);
        const again = JSON.parse(second.stdout);
        if (again.canonical.cached) cachedSecond++;
        if (c2 !== EXIT.OK) failures.push(`${name}: second plan exit ${c2}: ${JSON.stringify(again.tables.flatMap((x: { chains: unknown[] }) => x.chains)).slice(0, 600)}`);
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message}`);
      } finally {
        await deleteNetns(ns);
      }
    }
    assert.deepEqual(failures, []);
    assert.equal(cachedSecond, captures.length, 'the second plan of an unchanged file uses the cached canonical form');
    assert.deepEqual(readdirSync('/run/netns').filter((n) => n.startsWith(`isr-`) && n.includes(`-${process.pid}-`)), []);
  });
}
