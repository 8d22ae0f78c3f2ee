// The whole tool against the bare iptables tools, in throwaway network namespaces (root),
// measured in the same run and alternating A/B (the order flips every round) so that drift
// — other jobs on the machine, caches, thermal — hits both sides alike:
//
//   iptables-save                         vs  our plan, in sync, canonical form cached
//   iptables-restore into an empty netns  vs  our plan, in sync, cold (no cache: one
//                                             canonicalization in a throwaway namespace)
//   iptables-restore replacing a ruleset  vs  our apply of the same 1% change
//     1% different (full restore)
//   (apply of a 50% change, both ways, against the same bare restore)
//
// Every run goes through GNU time: wall seconds are ours (performance.now around the
// spawn), peak memory is its %M — wait4's ru_maxrss, i.e. the largest single process of the
// command's tree (for us: the node process; for the bare tool: iptables-restore itself).
// After each size the namespace must hold exactly the file last applied, or the run fails.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateRuleset, median, withChurn } from './generate.mjs';

const TIME = '/usr/bin/time';

export const TOOL_MEASURES = ['save', 'plan', 'planCold', 'restoreEmpty', 'restore', 'apply1', 'apply50'];
export const MEM_MEASURES = ['saveMem', 'planMem', 'restoreMem', 'apply1Mem', 'apply50Mem'];

/** Run a command under GNU time: wall seconds and the peak RSS (MiB) of its largest process. */
function timed(argv, { input, expect = [0], dir }) {
  const memFile = join(dir, 'time.out');
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-f', '%M', '-o', memFile, ...argv], { input, maxBuffer: 1 << 30 });
  const s = (performance.now() - t0) / 1000;
  if (!expect.includes(r.status)) {
    throw new Error(`bench: '${argv.join(' ')}' exited ${r.status} (expected ${expect.join(' or ')}):\n${String(r.stderr).slice(-2000)}`);
  }
  const kib = Number(readFileSync(memFile, 'utf8').trim().split('\n').pop());
  return { s, mib: kib / 1024, stdout: r.stdout };
}

function sh(argv, input) {
  const r = spawnSync(argv[0], argv.slice(1), { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`bench: '${argv.join(' ')}' failed: ${String(r.stderr).trim()}`);
  return String(r.stdout);
}

/** Tables as sets of lines, order of tables ignored (legacy prints them in load order). */
function tablesOf(text) {
  const blocks = text.split('\n').filter((l) => l && !l.startsWith('#')).join('\n').split(/^(?=\*)/m);
  return blocks.map((b) => b.trim()).sort().join('\n');
}

export function requireGnuTime() {
  if (!existsSync(TIME)) throw new Error(`bench: ${TIME} not found: install GNU time (Debian: apt-get install time)`);
}

/** `program`: the file measured, run as an operator runs it (its own first line: /usr/bin/node and its options). */
export function benchTool({ sizes, repeat, backends, log, program }) {
  requireGnuTime();
  const rows = [];
  const dir = mkdtempSync(join(tmpdir(), 'isr-bench-'));
  let k = 0;
  const nsName = () => `isr-bench-${process.pid}-${k++}`;
  const made = [];
  try {
    for (const backend of backends) {
      for (const size of sizes) {
        const live = generateRuleset({ rules: size, seed: 3 });
        const texts = { L: live, U1: withChurn(live, 0.01), U50: withChurn(live, 0.5) };
        const files = Object.fromEntries(Object.keys(texts).map((f) => [f, join(dir, `${f}.rules`)]));
        for (const f of Object.keys(texts)) writeFileSync(files[f], texts[f]);
        const state = join(dir, `state-${backend}-${size}`);
        const ns = nsName();
        sh(['ip', 'netns', 'add', ns]);
        made.push(ns);
        const inNs = (name, argv) => ['nsenter', `--net=/run/netns/${name}`, '--', ...argv];
        const tool = (cmd, f, stateDir = state, extra = []) => [program, cmd, files[f], '--netns', ns, '--backend', backend,
          '--state-dir', stateDir, '--docker-socket', '/nonexistent/docker.sock', '-q', ...extra];
        const txArgs = ['--lock-file', join(dir, 'lock'), '--keep', '2'];
        sh(inNs(ns, [`iptables-${backend}-restore`, '-w']), texts.L);
        let cur = 'L';
        // warm the canonical-form cache for every file (plan of an edited file: exit 2)
        for (const f of ['L', 'U1', 'U50']) timed(tool('plan', f), { dir, expect: [f === 'L' ? 0 : 2] });

        const m = Object.fromEntries([...TOOL_MEASURES, ...MEM_MEASURES].map((x) => [x, []]));
        const put = (key, r) => {
          m[key].push(r.s);
          if (m[`${key}Mem`]) m[`${key}Mem`].push(r.mib);
        };
        const pair = (flip, a, b) => (flip ? [b, a] : [a, b]).forEach((f) => f());
        for (let i = 0; i < repeat; i++) {
          const flip = i % 2 === 1;
          pair(flip,
            () => put('save', timed(inNs(ns, [`iptables-${backend}-save`]), { dir })),
            () => put('plan', timed(tool('plan', cur), { dir })));
          pair(flip,
            () => {
              const empty = nsName();
              sh(['ip', 'netns', 'add', empty]);
              try {
                put('restoreEmpty', timed(inNs(empty, [`iptables-${backend}-restore`, '-w']), { dir, input: texts.L }));
              } finally {
                sh(['ip', 'netns', 'delete', empty]);
              }
            },
            () => {
              const cold = join(dir, 'state-cold');
              rmSync(cold, { recursive: true, force: true });
              put('planCold', timed(tool('plan', cur, cold), { dir }));
            });
          const toggle = () => (cur = cur === 'L' ? 'U1' : 'L');
          pair(flip,
            () => put('restore', timed(inNs(ns, [`iptables-${backend}-restore`, '-w']), { dir, input: texts[toggle()] })),
            () => put('apply1', timed(tool('apply', toggle(), state, txArgs), { dir })));
          put('apply50', timed(tool('apply', 'U50', state, txArgs), { dir }));
          put('apply50', timed(tool('apply', cur, state, txArgs), { dir }));
        }
        const held = sh(inNs(ns, [`iptables-${backend}-save`]));
        if (tablesOf(held) !== tablesOf(texts[cur])) throw new Error(`bench: after the runs, namespace ${ns} does not hold ${cur}.rules: the tool did not apply it`);
        sh(['ip', 'netns', 'delete', ns]);
        made.splice(made.indexOf(ns), 1);
        const row = { backend, size, ...Object.fromEntries(Object.entries(m).map(([key, v]) => [key, median(v)])), samples: m };
        rows.push(row);
        log?.(`${backend.padEnd(6)} ${String(size).padStart(6)}: save ${row.save.toFixed(2)} s, plan ${row.plan.toFixed(2)} s, ` +
          `restore ${row.restore.toFixed(2)} s, apply 1% ${row.apply1.toFixed(2)} s, peak ${row.restoreMem.toFixed(0)} vs ${row.apply1Mem.toFixed(0)} MiB`);
      }
    }
  } finally {
    for (const ns of made) spawnSync('ip', ['netns', 'delete', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** `--version` against `node -e 0`, alternating (no root needed). */
export function benchStartup({ repeat, program }) {
  const runs = { version: [], node: [] };
  const wall = (argv) => {
    const t0 = performance.now();
    const r = spawnSync(argv[0], argv.slice(1));
    if (r.status !== 0) throw new Error(`bench: '${argv.join(' ')}' failed: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  };
  for (let i = 0; i < repeat; i++) {
    const a = () => runs.version.push(wall([program, '--version']));
    const b = () => runs.node.push(wall(['node', '-e', '0']));
    (i % 2 ? [b, a] : [a, b]).forEach((f) => f());
  }
  return { version: median(runs.version), node: median(runs.node), samples: runs };
}
