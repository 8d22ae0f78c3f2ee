// The pure core alone, in this process (no iptables, no root): each step of plan timed on
// its own — parse the user's file (checked) and the live ruleset (trusted, as iptables-save
// prints it), learn Docker's facts and classify both, strip, merge, diff — and the whole
// pure plan with 1% and with 50% of the user's rules changed. The 1% and 50% runs
// alternate, so drift hits both alike. Medians of `repeat` runs after one warm-up.
import { performance } from 'node:perf_hooks';
import { countRules, generateRuleset, median, withChurn } from './generate.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
const { parseRuleset } = await import(new URL('core/parse.js', dist));
const { classify } = await import(new URL('core/classify.js', dist));
const { strip } = await import(new URL('core/strip.js', dist));
const { merge } = await import(new URL('core/merge.js', dist));
const { learnDockerFacts } = await import(new URL('core/facts.js', dist));
const { selectProfiles } = await import(new URL('core/owners/index.js', dist));
const { planDiff } = await import(new URL('core/plan.js', dist));

export const PURE_STEPS = ['parseUser', 'parseLive', 'classify', 'strip', 'merge', 'diff'];

/** One pure plan, each step timed (seconds). */
function purePlan(userText, liveText) {
  const t = [performance.now()];
  const user = parseRuleset(userText, { file: 'user.rules', family: 'ipv4' }).ruleset;
  t.push(performance.now());
  const live = parseRuleset(liveText, { file: 'iptables-save', family: 'ipv4', trusted: true }).ruleset;
  t.push(performance.now());
  const profiles = selectProfiles();
  const facts = learnDockerFacts({ live: [live], files: [user] });
  const userClass = classify(user, profiles, facts);
  const liveClass = classify(live, profiles, facts);
  t.push(performance.now());
  const stripped = strip(user, userClass);
  t.push(performance.now());
  const merged = merge(stripped, live, liveClass, facts);
  t.push(performance.now());
  const diff = planDiff(live, merged.target);
  t.push(performance.now());
  if (!diff.changes) throw new Error('bench: the edited file should plan to changes');
  const steps = Object.fromEntries(PURE_STEPS.map((k, i) => [k, (t[i + 1] - t[i]) / 1000]));
  return { ...steps, total: (t[t.length - 1] - t[0]) / 1000, docker: merged.preserved.filter((p) => p.rule).length };
}

export function benchPure({ sizes, repeat, log }) {
  const rows = [];
  for (const size of sizes) {
    const live = generateRuleset({ rules: size, seed: 3 });
    const user1 = withChurn(live, 0.01);
    const user50 = withChurn(live, 0.5);
    purePlan(user1, live); // warm-up
    const one = [];
    const half = [];
    for (let i = 0; i < repeat; i++) {
      if (i % 2 === 0) {
        one.push(purePlan(user1, live));
        half.push(purePlan(user50, live));
      } else {
        half.push(purePlan(user50, live));
        one.push(purePlan(user1, live));
      }
    }
    const row = {
      size, rules: countRules(live), dockerRules: one[0].docker,
      steps: Object.fromEntries(PURE_STEPS.map((k) => [k, median(one.map((r) => r[k]))])),
      plan1: median(one.map((r) => r.total)), plan50: median(half.map((r) => r.total)),
      samples: { plan1: one.map((r) => r.total), plan50: half.map((r) => r.total), steps1: one },
    };
    rows.push(row);
    log?.(`pure ${String(size).padStart(6)}: plan 1% ${row.plan1.toFixed(3)} s, 50% ${row.plan50.toFixed(3)} s`);
  }
  return rows;
}
