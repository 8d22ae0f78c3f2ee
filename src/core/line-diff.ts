// Diffing two lists of lines (one chain's rules, live → target), fast whatever the churn.
//
// Common prefix and suffix are cut off first. A tiny middle goes to jsdiff's diffArrays,
// which gives the shortest edit. Anything larger is first split at anchors — lines that
// occur once in each list, kept in order by a longest increasing subsequence (patience
// diff) — and only the gaps between anchors go to diffArrays: its O(N·D) search costs
// seconds over a ruleset where half the rules changed (measured: 1.0–1.8 s at 100k rules
// in 200-rule chains), the anchors a few milliseconds. A gap too large for diffArrays is
// shown as removed-then-added. The result is always a correct edit script.
import { diffArrays } from 'diff';

export interface Run {
  op: ' ' | '-' | '+';
  lines: string[];
}

const TINY = 64;
const SMALL = 2000;

export function diffLines(a: readonly string[], b: readonly string[]): Run[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const runs: Run[] = [];
  push(runs, ' ', a.slice(0, pre));
  middle(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf), runs);
  push(runs, ' ', a.slice(a.length - suf));
  return runs;
}

/** Append lines (a fresh array, which the run may keep) as a run, or to the last run of the same op. */
function push(runs: Run[], op: Run['op'], lines: string[]): void {
  if (lines.length === 0) return;
  const last = runs[runs.length - 1];
  if (last && last.op === op) for (const l of lines) last.lines.push(l);
  else runs.push({ op, lines });
}

function middle(a: string[], b: string[], runs: Run[]): void {
  if (a.length === 0 || b.length === 0) {
    push(runs, '-', a);
    push(runs, '+', b);
    return;
  }
  if (a.length + b.length <= TINY) return myers(a, b, runs);
  const anchors = uniqueAnchors(a, b);
  if (anchors.length === 0) {
    if (a.length + b.length <= SMALL) return myers(a, b, runs);
    push(runs, '-', a);
    push(runs, '+', b);
    return;
  }
  let ai = 0;
  let bi = 0;
  for (const [x, y] of anchors) {
    middleOrReplace(a.slice(ai, x), b.slice(bi, y), runs);
    push(runs, ' ', [a[x]]);
    ai = x + 1;
    bi = y + 1;
  }
  middleOrReplace(a.slice(ai), b.slice(bi), runs);
}

function myers(a: string[], b: string[], runs: Run[]): void {
  const changes = diffArrays(a, b, { maxEditLength: SMALL });
  if (!changes) {
    push(runs, '-', a);
    push(runs, '+', b);
    return;
  }
  for (const c of changes) push(runs, c.added ? '+' : c.removed ? '-' : ' ', c.value);
}

function middleOrReplace(a: string[], b: string[], runs: Run[]): void {
  if (a.length + b.length <= SMALL) return middle(a, b, runs);
  push(runs, '-', a);
  push(runs, '+', b);
}

/** Pairs (i in a, j in b) of lines unique in both, increasing in both (LIS on j). */
function uniqueAnchors(a: string[], b: string[]): Array<[number, number]> {
  const count = new Map<string, number>();
  for (const l of a) count.set(l, (count.get(l) ?? 0) + 1);
  const inB = new Map<string, number>();
  const dupB = new Set<string>();
  b.forEach((l, j) => (inB.has(l) ? dupB.add(l) : inB.set(l, j)));
  const pairs: Array<[number, number]> = [];
  a.forEach((l, i) => {
    if (count.get(l) === 1 && inB.has(l) && !dupB.has(l)) pairs.push([i, inB.get(l)!]);
  });
  // longest increasing subsequence of the j's (patience sorting), O(n log n)
  const tails: number[] = [];
  const prev = new Array<number>(pairs.length);
  for (let k = 0; k < pairs.length; k++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tails[mid]][1] < pairs[k][1]) lo = mid + 1;
      else hi = mid;
    }
    prev[k] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = k;
  }
  const out: Array<[number, number]> = [];
  for (let k = tails.length ? tails[tails.length - 1] : -1; k >= 0; k = prev[k]) out.push(pairs[k]);
  return out.reverse();
}
