// The user's part of a live ruleset, as a saved file should hold it (`save`): what a saved
// /etc/sysconfig/iptables must contain, and nothing Docker (or another preserved owner) owns.
//
// It is strip() applied to the live ruleset — the user's chains, the user's rules in built-in
// chains, DOCKER-USER when it holds rules of the user's, every built-in chain's policy — plus
// an empty declaration of each owned chain a user rule still jumps to (`-A MINE -j DOCKER`),
// so that the file loads on its own. Restoring it strips that declaration again and keeps the
// live chain, so the file round-trips: restoring it changes nothing.
import type { Ruleset } from './model.js';
import type { Classification } from './classify.js';
import { strip, type StripResult } from './strip.js';

export function userPart(live: Ruleset, cls: Classification, tables?: readonly string[]): StripResult {
  const result = strip(live, cls);
  for (const [name, t] of result.ruleset.tables) {
    if (tables && !tables.includes(name)) {
      result.ruleset.tables.delete(name);
      continue;
    }
    const liveChains = live.tables.get(name)!.chains;
    for (const c of [...t.chains.values()]) {
      for (const r of c.rules) {
        const to = r.target?.name;
        if (to === undefined || t.chains.has(to) || !liveChains.has(to)) continue;
        t.chains.set(to, { name: to, builtin: false, policy: null, rules: [] });
      }
    }
  }
  if (tables) result.stripped = result.stripped.filter((s) => tables.includes(s.table));
  return result;
}
