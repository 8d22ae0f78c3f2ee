// The live ruleset: iptables-save of this host (root), or a saved copy given with
// --live-from (previews for another host, and no root needed).
import type { Family, Ruleset } from '../core/model.js';
import { parseRuleset } from '../core/parse.js';
import { PermissionError, SystemError } from '../errors.js';
import { readInput } from './input.js';
import { rulesetLimit } from '../core/limits.js';
import { detectBackend, saveParsed, type Backend } from './iptables.js';

export interface LiveOptions {
  family: Family;
  backend?: Backend | 'auto';
  liveFrom?: string;
  netns?: string;
  /** With rule and chain counters (iptables-save -c). */
  counters?: boolean;
  /** Read a --live-from file a non-root user could have written (input.ts). */
  force?: boolean;
  /** The largest --live-from file read, in bytes (core/limits.ts). */
  maxRulesetSize?: number;
}

export interface Live {
  ruleset: Ruleset;
  /** Where it came from, for messages: "iptables-nft-save" or the file. */
  source: string;
  backend?: Backend;
  /** The text as read, comment lines removed (made from iptables-save's output when asked for). */
  readonly text: string;
  /** The same text in pieces (a snapshot is written piece by piece, never joined in memory). */
  textParts(): readonly string[];
}

export async function readLive(opts: LiveOptions): Promise<Live> {
  if (opts.liveFrom) {
    // a saved file may have been edited by hand: check it like any input
    const input = readInput(opts.liveFrom, { force: opts.force, limit: rulesetLimit(opts.maxRulesetSize) });
    return { ruleset: parseLiveText(input.text, input.name, opts.family, false), source: input.name, text: input.text, textParts: () => [input.text] };
  }
  const backend = !opts.backend || opts.backend === 'auto' ? await detectBackend(opts.family) : opts.backend;
  const tool = `${opts.family === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}-save`;
  try {
    const saved = await saveParsed({ family: opts.family, backend, netns: opts.netns, name: tool, counters: opts.counters });
    return {
      ruleset: saved.ruleset, source: tool, backend,
      get text() {
        return saved.parts().join('');
      },
      textParts: saved.parts,
    };
  } catch (e) {
    if (e instanceof SystemError && /Permission denied|not permitted|must be root/i.test(e.detail ?? '')) {
      throw new PermissionError('reading the live ruleset needs root (or use --live-from SAVED_FILE for an offline preview)');
    }
    throw e;
  }
}

/** An empty save (no tables loaded yet) is a valid live ruleset. */
function parseLiveText(text: string, name: string, family: Family, trusted: boolean): Ruleset {
  if (text.split('\n').every((l) => l.trim() === '' || l.startsWith('#'))) return { family, tables: new Map() };
  return parseRuleset(text, { file: name, family, trusted }).ruleset;
}
