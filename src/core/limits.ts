// How much of each input the tool reads at most (issue 14: `check < /dev/zero` grew to 1.5 GB).
// Past its limit an input is refused, naming the file and the limit (io/input.ts).
//
//   a ruleset (FILE, stdin, --live-from)  32 MiB: about 300,000 rules — the benchmark's
//                                         100,000-rule file is 8–10 MB; a host that needs
//                                         more sets `max-ruleset-size` in the configuration
//   a saved plan (apply --plan)           4 × the ruleset limit: it holds the target ruleset,
//                                         the rules changed and the lines stripped (measured:
//                                         16 MB for an 8 MB file with half its rules changed)
//   the configuration file                64 KiB: a few settings
export interface Limit {
  bytes: number;
  /** "a ruleset", for messages. */
  what: string;
  /** How to raise it, when it can be. */
  hint?: string;
}

export const DEFAULT_RULESET_BYTES = 32 * 2 ** 20;
export const CONFIG_BYTES = 64 * 2 ** 10;

export function rulesetLimit(bytes = DEFAULT_RULESET_BYTES): Limit {
  return { bytes, what: 'a ruleset', hint: 'max-ruleset-size in the configuration raises it' };
}

export function planLimit(rulesetBytes = DEFAULT_RULESET_BYTES): Limit {
  return { bytes: 4 * rulesetBytes, what: 'a saved plan', hint: '4 × max-ruleset-size of the configuration' };
}

export const configLimit: Limit = { bytes: CONFIG_BYTES, what: 'a configuration file' };

/** `64M`, `512K`, `1G`, `1048576` (bytes): binary units. undefined when malformed or zero. */
export function parseSize(value: string): number | undefined {
  const m = /^(\d{1,12})\s*([KMG]?)i?B?$/i.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * 2 ** ({ '': 0, K: 10, M: 20, G: 30 } as Record<string, number>)[m[2].toUpperCase()];
  return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}
