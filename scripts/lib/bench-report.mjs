// What the benchmark prints and records: the machine it ran on, the targets of issues 5, 6
// and 9 with PASS/MISS, and the tables of medians and ratios.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export function describeMachine() {
  const version = (tool) => {
    const r = spawnSync(tool, ['--version']);
    return r.status === 0 ? String(r.stdout).trim() : null;
  };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    iptables: version('iptables'),
    iptablesNft: version('iptables-nft-save'),
    iptablesLegacy: version('iptables-legacy-save'),
  };
}

export const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

const TARGET_SIZE = 100_000;

/** Every target, measured at 100k rules (start-up at any size): value, limit, PASS/MISS. */
export function evaluateTargets(result) {
  const out = [];
  const add = (name, value, limit, unit, extra = {}) => out.push({ name, value, limit, unit, pass: value <= limit, ...extra });
  const pure = result.pure.find((r) => r.size === TARGET_SIZE);
  if (pure) {
    add('pure plan (parse, classify, strip, merge, diff), 1% changed', pure.plan1, 0.3, 's');
    add('pure plan, 50% changed', pure.plan50, 1, 's');
  }
  for (const r of (result.tool ?? []).filter((x) => x.size === TARGET_SIZE)) {
    const b = { backend: r.backend };
    add(`plan in sync, canonical cached / iptables-save [${r.backend}]`, r.plan / r.save, 1.3, 'x', { ...b, seconds: [r.plan, r.save] });
    add(`apply 1% / full iptables-restore [${r.backend}]`, r.apply1 / r.restore, r.backend === 'nft' ? 1.0 : 1.5, 'x', { ...b, seconds: [r.apply1, r.restore] });
    add(`peak memory, apply 1% / iptables-restore [${r.backend}]`, r.apply1Mem / r.restoreMem, 1.5, 'x', { ...b, mib: [r.apply1Mem, r.restoreMem] });
  }
  if (result.startup) add('--version / node -e 0', result.startup.version / result.startup.node, 1.5, 'x', { seconds: [result.startup.version, result.startup.node] });
  return out;
}

const f2 = (x) => x.toFixed(2);
const f3 = (x) => x.toFixed(3);
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
const k = (n) => (n >= 1000 ? `${Math.round(n / 1000)}k` : String(n));

function table(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(header), ...rows.map(line)].map((l) => '  ' + l).join('\n');
}

export function printReport(result, print = console.log) {
  const m = result.machine;
  print(`machine: ${m.cores} x ${m.cpu}, ${m.memoryGiB} GiB, kernel ${m.kernel}, node ${m.node}, ${m.iptables ?? 'no iptables'}`);
  print(`load average (1, 5, 15 min): ${result.load.start.join(' ')} at start, ${result.load.end.join(' ')} at end`);
  if (result.program) print(`program: ${result.program.kind === 'bundle' ? 'the bundle the packages install' : 'bin/ (unbundled)'}, run through its first line: ${result.program.firstLine}`);
  print(`private /run: ${result.privateRun.yes ? 'yes (unshare -m, tmpfs on /run: /run/xtables.lock and /run/netns are ours alone)' : `NO (${result.privateRun.why})`}`);
  print(`peak memory: ${result.memoryMethod}`);
  print('');
  print(`Pure core, in process (seconds, medians of ${result.options.pureRepeat}):`);
  print(table(['rules', 'parse user', 'parse live', 'classify', 'strip', 'merge', 'diff', 'plan 1%', 'plan 50%'],
    result.pure.map((r) => [k(r.size), ...['parseUser', 'parseLive', 'classify', 'strip', 'merge', 'diff'].map((s) => f3(r.steps[s])), f3(r.plan1), f3(r.plan50)])));
  if (result.tool) {
    print('');
    print(`Whole tool vs the bare iptables tools (seconds, medians of ${result.options.repeat}, A/B alternated; ratio = ours / bare):`);
    print(table(['backend', 'rules', 'save', 'plan cached', 'plan cold', 'restore empty', 'restore 1%', 'apply 1%', 'apply 50%', 'MiB restore', 'MiB apply'],
      result.tool.map((r) => [r.backend, k(r.size), f2(r.save), `${f2(r.plan)} (${ratio(r.plan, r.save)})`, f2(r.planCold), f2(r.restoreEmpty), f2(r.restore),
        `${f2(r.apply1)} (${ratio(r.apply1, r.restore)})`, `${f2(r.apply50)} (${ratio(r.apply50, r.restore)})`, r.restoreMem.toFixed(0), `${r.apply1Mem.toFixed(0)} (${ratio(r.apply1Mem, r.restoreMem)})`])));
  } else {
    print('');
    print(`Whole tool: skipped (${result.toolSkipped})`);
  }
  if (result.startup) print(`\nStart-up: --version ${f3(result.startup.version)} s, node -e 0 ${f3(result.startup.node)} s (${ratio(result.startup.version, result.startup.node)})`);
  print('');
  if (result.targets.length === 0) {
    print('Targets: measured at 100k rules; not in this run (--sizes).');
    return;
  }
  print('Targets (100k rules):');
  print(table(['target', 'measured', 'limit', ''], result.targets.map((t) => [t.name, t.unit === 's' ? `${f3(t.value)} s` : `${f2(t.value)}x`, `${t.limit}${t.unit === 's' ? ' s' : 'x'}`, t.pass ? 'PASS' : 'MISS'])));
}
