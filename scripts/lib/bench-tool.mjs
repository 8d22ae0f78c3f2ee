// The whole tool against the bare iptables tools, in a throwaway namespace, same run,
// alternating A/B so drift hits both: plan (cold and cached) vs iptables-save; apply with
// 1% changed vs a bare full iptables-restore of the same ruleset; peak memory of each
// (GNU time's max RSS). Needs root.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRuleset, median, withChurn } from './generate.mjs';

const BIN = new URL('../../bin/iptables-safe-restore', import.meta.url).pathname;

/** Run a command under GNU time: wall seconds and peak RSS in MiB. */
function timed(argv, input) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', ...argv], { input, maxBuffer: 1 << 30 });
  const last = String(r.stderr).trim().split('\n').pop().split(' ');
  return { s: Number(last[0]), mib: Number(last[1]) / 1024, status: r.status, stderr: String(r.stderr) };
}

export function benchTool({ sizes, runs, backends }) {
  const rows = [];
  const dir = mkdtempSync(join(tmpdir(), 'isr-bench-'));
  const ns = `isr-bench-${process.pid}-9`;
  try {
    for (const backend of backends) {
      for (const size of sizes) {
        const live = generateRuleset({ rules: size, seed: 3 });
        const user = withChurn(live, 0.01);
        const liveFile = join(dir, 'live.rules');
        const userFile = join(dir, 'user.rules');
        writeFileSync(liveFile, live);
        writeFileSync(userFile, user);
        spawnSync('ip', ['netns', 'add', ns]);
        const nsx = (args, input) => spawnSync('nsenter', [`--net=/run/netns/${ns}`, '--', ...args], { input, maxBuffer: 1 << 30 });
        const reset = () => nsx([`iptables-${backend}-restore`, '-w'], live);
        const tool = (cmd, extra = []) => ['node', BIN, cmd, userFile, '--netns', ns, '--backend', backend, '--state-dir', join(dir, 'state'), '--docker-socket', '/nonexistent', '-q', ...extra];
        reset();
        const m = { save: [], plan: [], planCold: [], restore: [], apply: [], restoreMem: [], applyMem: [], planMem: [] };
        for (let i = 0; i < runs; i++) {
          // A/B: bare save, then plan with the cache warm
          m.save.push(timed(['nsenter', `--net=/run/netns/${ns}`, '--', `iptables-${backend}-save`]).s);
          const p = timed(tool('plan'));
          m.plan.push(p.s);
          m.planMem.push(p.mib);
          if (i < 2) {
            rmSync(join(dir, 'state'), { recursive: true, force: true });
            m.planCold.push(timed(tool('plan')).s);
          }
          // A/B: bare full restore of the user's ruleset, then our apply of it (1% changed)
          const r = timed(['nsenter', `--net=/run/netns/${ns}`, '--', `iptables-${backend}-restore`, '-w'], user);
          m.restore.push(r.s);
          m.restoreMem.push(r.mib);
          reset();
          const a = timed(tool('apply', ['--lock-file', join(dir, 'lock'), '--keep', '2']));
          if (a.status !== 0) throw new Error(`apply exit ${a.status}: ${a.stderr}`);
          m.apply.push(a.s);
          m.applyMem.push(a.mib);
          reset();
        }
        spawnSync('ip', ['netns', 'delete', ns]);
        const row = { backend, size, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)])) };
        rows.push(row);
        console.log(`${backend.padEnd(7)} ${String(size).padStart(6)}  save ${row.save.toFixed(2)}s  plan ${row.plan.toFixed(2)}s (${(row.plan / row.save).toFixed(2)}×, cold ${row.planCold.toFixed(2)}s)  restore ${row.restore.toFixed(2)}s  apply ${row.apply.toFixed(2)}s (${(row.apply / row.restore).toFixed(2)}×)  mem restore ${row.restoreMem.toFixed(0)} MiB, apply ${row.applyMem.toFixed(0)} MiB (${(row.applyMem / row.restoreMem).toFixed(2)}×)`);
      }
    }
  } finally {
    spawnSync('ip', ['netns', 'delete', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
