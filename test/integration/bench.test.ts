// The benchmark's smoke run (`scripts/bench --quick`, as root): every measurement is in the
// JSON, with sane values, and the machine is described. Figures are never asserted — the
// benchmark exists to measure them, not a test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { requireRoot } from '../helpers/root.js';
import { repoRoot } from '../helpers/fixtures.js';

const TOOL = ['save', 'plan', 'planCold', 'restoreEmpty', 'restore', 'apply1', 'apply50'];
const MEM = ['saveMem', 'planMem', 'restoreMem', 'apply1Mem', 'apply50Mem'];
const STEPS = ['parseUser', 'parseLive', 'classify', 'strip', 'merge', 'diff'];

const seconds = (x: unknown, what: string) => assert.ok(typeof x === 'number' && Number.isFinite(x) && x > 0 && x < 600, `${what}: ${String(x)}`);
const stepSeconds = (x: unknown, what: string) => assert.ok(typeof x === 'number' && Number.isFinite(x) && x >= 0 && x < 600, `${what}: ${String(x)}`);

test('scripts/bench --quick: every measurement of both backends, in a private /run, written to JSON', { timeout: 600_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'isr-bench-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'bench.json');
  const r = await execa(process.execPath, [join(repoRoot, 'scripts', 'bench'), '--quick', '--out', out], { reject: false, all: true });
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.stdout, /private \/run: yes/);
  assert.match(r.stdout, /Whole tool vs the bare iptables tools/);

  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.schema, 'iptables-safe-restore/bench');
  assert.deepEqual(j.options.sizes, [1000, 10000]);
  assert.deepEqual(j.options.backends, ['nft', 'legacy']);
  const repeat = j.options.repeat;
  assert.ok(repeat >= 1 && repeat <= 2);

  // the machine
  const m = j.machine;
  assert.ok(m.cpu && m.cores >= 1 && m.memoryGiB > 0 && m.kernel && /^v\d+/.test(m.node));
  assert.match(m.iptablesNft, /nf_tables/);
  assert.match(m.iptablesLegacy, /legacy/);
  for (const l of [j.load.start, j.load.end]) assert.ok(Array.isArray(l) && l.length === 3 && l.every((x: number) => x >= 0));
  assert.equal(j.privateRun.yes, true, j.privateRun.why);
  assert.match(j.memoryMethod, /GNU time/);

  // the pure core, step by step
  assert.deepEqual(j.pure.map((p: { size: number }) => p.size), [1000, 10000]);
  for (const p of j.pure) {
    assert.ok(Math.abs(p.rules - p.size) / p.size < 0.05, `rules ${p.rules} for size ${p.size}`);
    assert.ok(p.dockerRules > 0 && p.dockerRules < p.rules / 10);
    for (const s of STEPS) stepSeconds(p.steps[s], `pure ${p.size} ${s}`);
    seconds(p.plan1, `pure ${p.size} plan1`);
    seconds(p.plan50, `pure ${p.size} plan50`);
    assert.ok(p.steps.parseUser + p.steps.parseLive <= p.plan1 * 1.5, 'the steps are parts of the whole');
  }

  // the whole tool and the bare tools, every backend and size
  assert.deepEqual(j.tool.map((x: { backend: string; size: number }) => `${x.backend} ${x.size}`), ['nft 1000', 'nft 10000', 'legacy 1000', 'legacy 10000']);
  for (const row of j.tool) {
    for (const k of TOOL) {
      seconds(row[k], `${row.backend} ${row.size} ${k}`);
      assert.equal(row.samples[k].length, k === 'apply50' ? 2 * repeat : repeat, `${k} samples`);
    }
    for (const k of MEM) assert.ok(row[k] >= 1 && row[k] < 4096, `${row.backend} ${row.size} ${k}: ${row[k]} MiB`);
  }

  seconds(j.startup.version, '--version');
  seconds(j.startup.node, 'node -e 0');
  // targets are judged at 100k rules: in a quick run only start-up has one
  assert.deepEqual(j.targets.map((x: { name: string }) => x.name), ['--version / node -e 0']);
  assert.equal(typeof j.targets[0].pass, 'boolean');
});
