// A structured look at one rule's arguments, for recognising rule shapes (whose rule is
// this?). It reads the core options (-s -d -i -o -p), the matches named with -m, every
// other option with its first value, and the target with its options. It is tolerant: the
// same view comes from `-p tcp --dport 80` and from `-p tcp -m tcp --dport 80`.
import { coreOption } from './validate.js';

export interface Opt {
  value?: string;
  /** Second value, for options that take two (`--match-set NAME FLAGS`). */
  value2?: string;
  neg: boolean;
}

export interface RuleView {
  s?: Opt;
  d?: Opt;
  i?: Opt;
  o?: Opt;
  p?: Opt;
  fragment?: boolean;
  /** Match modules named with -m, in order. */
  matches: string[];
  /** Options before the target (`--dport`, `--ctstate`, `--dst-type`, …). */
  opts: Map<string, Opt>;
  target?: string;
  goto: boolean;
  /** Options after the target (`--to-destination`, `--reject-with`, …). */
  targetOpts: Map<string, Opt>;
}

const TWO_VALUES = new Set(['--match-set', '--tcp-flags']);

export function viewRule(args: readonly string[]): RuleView {
  const v: RuleView = { matches: [], opts: new Map(), goto: false, targetOpts: new Map() };
  let neg = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '!') {
      neg = true;
      continue;
    }
    const core = coreOption(a);
    if (core && 'sdiop'.includes(core)) {
      v[core as 's' | 'd' | 'i' | 'o' | 'p'] = { value: args[++i], neg };
    } else if (core === 'f') {
      v.fragment = true;
    } else if (core === 'm') {
      v.matches.push(args[++i] ?? '');
    } else if (core === 'j' || core === 'g') {
      v.target = args[++i];
      v.goto = core === 'g';
    } else if (a.startsWith('-')) {
      const into = v.target === undefined ? v.opts : v.targetOpts;
      const opt: Opt = { neg };
      if (i + 1 < args.length && !args[i + 1].startsWith('-') && args[i + 1] !== '!') opt.value = args[++i];
      if (TWO_VALUES.has(a) && i + 1 < args.length && !args[i + 1].startsWith('-')) opt.value2 = args[++i];
      into.set(a, opt);
    }
    neg = false;
  }
  return v;
}

/** The set of core options present, e.g. "s,o" — to require that a shape has nothing else. */
export function coreKeys(v: RuleView): string {
  return (['s', 'd', 'i', 'o', 'p'] as const).filter((k) => v[k] !== undefined).join(',');
}

/** Address without a host mask: `172.17.0.2/32` → `172.17.0.2`, `fd00::1/128` → `fd00::1`. */
export function hostAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.endsWith('/32') || value.endsWith('/128')) return value.slice(0, value.lastIndexOf('/'));
  return value.includes('/') ? undefined : value;
}
