// Differential test of the twin against the real iptables-restore 1.8.9 (issue 23): every
// ruleset file under test/fixtures that names no Docker chain (Docker's parts are stripped by the
// twin by design), and on nft a seeded mutation of each (a line dropped, or a rule duplicated), is
// restored by `iptables-restore` into one empty namespace and by the twin into another, on nft and
// legacy. Both must succeed or both fail, and leave the same ruleset (counters zeroed: the twin's
// rule-level counters are tested in twin-compat.test.ts). The cases where the twin is stricter on
// purpose (man page, COMPATIBILITY) are listed below with the direction they differ in; a listed
// case that stops differing fails too, so the list stays true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { createNetns, deleteNetns } from '../../src/io/netns.js';
import { save } from '../../src/io/iptables.js';
import type { Family } from '../../src/core/model.js';
import { requireRoot } from '../helpers/root.js';
import { BIN } from '../helpers/netns-host.js';
import { fixturesDir, listFiles } from '../helpers/fixtures.js';

/**
 * Where the twin refuses what iptables-restore 1.8.9 loads, on purpose (man page, COMPATIBILITY):
 * the file named, and the twin's message. A mutated variant that keeps the cause differs the same way.
 */
const BOTH = ['nft', 'legacy'] as const;
const STRICTER: Record<string, { why: RegExp; loadedBy: readonly ('nft' | 'legacy')[] }> = {
  'errors/unterminated-quote.rules': { why: /unterminated quote/, loadedBy: BOTH },
  'errors/duplicate-table.rules': { why: /appears twice in the input/, loadedBy: BOTH },
  'errors/duplicate-builtin.rules': { why: /declared twice/, loadedBy: BOTH },
  'errors/counters-chain.rules': { why: /malformed counters/, loadedBy: BOTH },
  // iptables-legacy-restore refuses these too
  'errors/duplicate-chain.rules': { why: /declared twice/, loadedBy: ['nft'] },
  'errors/policy-user-chain.rules': { why: /only built-in chains have policies/, loadedBy: ['nft'] },
};

const files = listFiles(fixturesDir, (n) => n.endsWith('.rules'))
  .filter((p) => !/DOCKER/.test(readFileSync(p, 'utf8')))
  .map((p) => ({ path: p, name: relative(fixturesDir, p), family: (/(\.v6\.|ip6tables|ipv6)/.test(basename(p)) ? 'ipv6' : 'ipv4') as Family }));

/** A seeded PRNG (mulberry32), so a failing mutation can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Drop one line, or duplicate one rule line, chosen by the seed. */
function mutate(text: string, seed: number): string {
  const r = rng(seed);
  const lines = text.split('\n');
  const rules = lines.map((l, i) => (/^-[AI] /.test(l) ? i : -1)).filter((i) => i >= 0);
  if (rules.length && r() < 0.5) {
    const i = rules[Math.floor(r() * rules.length)];
    lines.splice(i, 0, lines[i]);
  } else {
    lines.splice(Math.floor(r() * lines.length), 1);
  }
  return lines.join('\n');
}

const tool = (f: Family, b: string) => `${f === 'ipv4' ? 'iptables' : 'ip6tables'}-${b}-restore`;

/** The ruleset, comments and counters aside; a table that filters nothing (built-ins ACCEPT, no rules) is no table. */
async function stateOf(ns: string, family: Family, backend: 'nft' | 'legacy'): Promise<string> {
  const text = (await save({ family, backend, netns: ns })).split('\n').filter((l) => l && !l.startsWith('#')).join('\n').replace(/\[\d+:\d+\]/g, '[0:0]');
  return text.split(/(?=^\*)/m).filter((b) => !/^\*\w+\n(:[A-Z]+ ACCEPT \[0:0\]\n)+COMMIT\s*$/.test(b + '\n')).join('').trim();
}

async function run(file: string, family: Family, backend: 'nft' | 'legacy', dir: string, twin: boolean): Promise<{ ok: boolean; state: string; err: string }> {
  const ns = await createNetns(twin ? 'diff-twin' : 'diff-real');
  try {
    const r = twin
      ? await execa(process.execPath, [BIN[family], '--netns', ns.path, '--backend', backend, '--docker-socket', '/nonexistent/sock',
        '--state-dir', join(dir, 'state'), '--lock-file', join(dir, 'lock'), file], { reject: false, stdin: 'ignore' })
      : await execa('nsenter', [`--net=${ns.path}`, '--', tool(family, backend), file], { reject: false, stdin: 'ignore' });
    return { ok: r.exitCode === 0, state: await stateOf(ns.path, family, backend), err: String(r.stderr).split('\n')[0] };
  } finally {
    await deleteNetns(ns);
  }
}

test('the differential corpus is not empty', () => {
  assert.ok(files.length >= 40, `${files.length} files`);
  for (const k of Object.keys(STRICTER)) assert.ok(files.some((f) => f.name === k), `${k} is in the corpus`);
  assert.ok(files.some((f) => f.family === 'ipv6'), 'IPv6 files too');
});

for (const backend of ['nft', 'legacy'] as const) {
  test(`[${backend}] the twin leaves what iptables-restore leaves, for ${files.length} fixture files${backend === 'nft' ? ' and a mutation of each' : ''}`, async (t) => {
    if (!requireRoot(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'isr-twin-diff-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const seed = Number(process.env.DIFF_SEED ?? 23);
    const problems: string[] = [];
    let compared = 0;
    let documented = 0;
    for (const [k, f] of files.entries()) {
      // mutations on nft only: each restore pair costs a second (two namespaces, the twin's kernel canonicalization)
      for (const variant of backend === 'nft' ? (['as is', 'mutated'] as const) : (['as is'] as const)) {
        const text = readFileSync(f.path, 'utf8');
        const file = join(dir, 'rules');
        writeFileSync(file, variant === 'as is' ? text : mutate(text, seed + k), { mode: 0o600 });
        const [real, twin] = [await run(file, f.family, backend, dir, false), await run(file, f.family, backend, dir, true)];
        const stricter = STRICTER[f.name]?.loadedBy.includes(backend) ? STRICTER[f.name] : undefined;
        const where = `${f.name} (${f.family}, ${variant}, seed ${seed + k})`;
        if (stricter && real.ok && !twin.ok && stricter.why.test(twin.err)) {
          documented++;
          continue;
        }
        if (stricter && variant === 'as is') {
          problems.push(`${where}: listed as stricter (${stricter.why}) but real ${real.ok ? 'loads' : 'fails'}, twin ${twin.ok ? 'loads' : `fails (${twin.err})`}`);
          continue;
        }
        compared++;
        if (real.ok !== twin.ok) problems.push(`${where}: real ${real.ok ? 'loads' : `fails (${real.err})`}, twin ${twin.ok ? 'loads' : `fails (${twin.err})`}`);
        else if (real.state !== twin.state) problems.push(`${where}: both ${real.ok ? 'load' : 'fail'}, the rulesets differ`);
      }
    }
    t.diagnostic(`${compared} restores compared on ${backend}, ${documented} documented stricter cases; ${problems.length} differences`);
    assert.deepEqual(problems, []);
  });
}
