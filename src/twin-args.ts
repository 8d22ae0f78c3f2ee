// The twin's command line — `iptables-safe-restore [OPTIONS] [FILE]`, with no command word —
// read the way iptables-restore 1.8.9 reads its own, with getopt_long's rules: short flags
// combine (`-nv`, `-cT filter`), a short option's value may be attached (`-Tfilter`), long
// options take `--table=filter` or `--table filter` and may be shortened to a unique prefix
// (`--nofl`), options and the FILE may come in any order, `--` ends the options.
// `-w/--wait` takes an optional number of seconds, as iptables-restore does: the next word
// is its value only when it is a number (`-w 5 FILE`, `--wait=5`, `-w FILE`).
//
// The tool's own long options (`--backend`, `--state-dir`, …) are accepted too, long form
// only, so that they never collide with iptables-restore's short ones. Nothing here touches
// the system; the yargs table (cli.ts) stays for the commands.
//
// An option given twice: iptables-restore's own as iptables-restore 1.8.9 takes them (the last
// counts: `-T filter -T nat` restores nat); the tool's own as the command table does — a flag
// may repeat, an option with a value given twice is an error, --preserve adds to a list.
// Words that look like options but name files in the current directory: option-words.ts.
import type { Family } from './core/model.js';
import { clip, UsageError } from './errors.js';

/** The command words; anything else in the first operand's place is the twin's FILE. */
export const VERBS = [
  'check', 'merge', 'explain', 'plan', 'apply', 'rollback', 'recover', 'history', 'save', 'stop', 'reconcile', 'confirm', 'completion',
] as const;

/** Command words that are not listed: the process apply --confirm leaves behind. */
const HIDDEN_VERBS = ['__watchdog'];

/** optional: a value attached, or a number as the next word (-w 5); attached: only `--name=VALUE`. */
type ArgKind = 'none' | 'required' | 'optional' | 'attached';

interface Spec {
  long: string;
  short?: string;
  arg: ArgKind;
}

/** The twin's options; also read by scripts/build-completion (the static shell completion). */
export const SPECS: readonly Spec[] = [
  // iptables-restore 1.8.9
  { long: 'counters', short: 'c', arg: 'none' },
  { long: 'noflush', short: 'n', arg: 'none' },
  { long: 'test', short: 't', arg: 'none' },
  { long: 'verbose', short: 'v', arg: 'none' },
  { long: 'version', short: 'V', arg: 'none' },
  { long: 'help', short: 'h', arg: 'none' },
  { long: 'wait', short: 'w', arg: 'optional' },
  { long: 'wait-interval', short: 'W', arg: 'required' },
  { long: 'table', short: 'T', arg: 'required' },
  { long: 'modprobe', short: 'M', arg: 'required' },
  { long: 'ipv4', short: '4', arg: 'none' },
  { long: 'ipv6', short: '6', arg: 'none' },
  // ours, long form only (IPTABLES_RESTORE_OPTIONS ends here: a value of ours given twice is an error)
  { long: 'backend', arg: 'required' },
  { long: 'state-dir', arg: 'required' },
  { long: 'docker-socket', arg: 'required' },
  { long: 'preserve', arg: 'required' },
  { long: 'config', arg: 'required' },
  { long: 'netns', arg: 'required' },
  { long: 'lock-wait', arg: 'required' },
  { long: 'lock-file', arg: 'required' },
  { long: 'force', arg: 'none' },
  { long: 'confirm', arg: 'attached' },
  { long: 'quiet', arg: 'none' },
];

export interface TwinArgs {
  counters: boolean;
  noflush: boolean;
  test: boolean;
  verbose: boolean;
  version: boolean;
  help: boolean;
  /** -w given: seconds, or 'forever' without a value. */
  wait?: number | 'forever';
  /** -W: microseconds between xtables lock attempts (legacy iptables). */
  waitInterval?: number;
  table?: string;
  modprobe?: string;
  family?: Family;
  file?: string;
  backend?: 'auto' | 'nft' | 'legacy';
  stateDir?: string;
  dockerSocket?: string;
  preserve: string[];
  config?: string;
  netns?: string;
  lockWait?: number;
  lockFile?: string;
  /** --confirm[=DURATION]: '' when bare (the default window). */
  confirm?: string;
  force: boolean;
  quiet: boolean;
}

const isNumber = (s: string | undefined): s is string => s !== undefined && /^\d+$/.test(s);

/** True when argv names a command (`plan …`, `-6 apply …`), or is bash completion asking the command table; false for the twin. */
export function isVerbInvocation(argv: readonly string[]): boolean {
  if (argv[0] === '--get-yargs-completions') return true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return false;
    if (a === '-' || !a.startsWith('-')) return (VERBS as readonly string[]).includes(a) || HIDDEN_VERBS.includes(a);
    i += valueWords(argv, i);
  }
  return false;
}

/** How many following words the option word argv[i] takes as its value (0 or 1). */
function valueWords(argv: readonly string[], i: number): number {
  const a = argv[i];
  if (a.startsWith('--')) {
    if (a.includes('=')) return 0;
    const spec = SPECS.find((s) => s.long === a.slice(2));
    if (spec?.arg === 'required') return 1;
    return spec?.arg === 'optional' && isNumber(argv[i + 1]) ? 1 : 0;
  }
  for (let k = 1; k < a.length; k++) {
    const spec = SPECS.find((s) => s.short === a[k]);
    const last = k === a.length - 1;
    if (spec?.arg === 'required') return last ? 1 : 0;
    if (spec?.arg === 'optional' && (last || isNumber(a.slice(k + 1)))) return last && isNumber(argv[i + 1]) ? 1 : 0;
  }
  return 0;
}

/** Parse the twin's arguments; throws UsageError with getopt's wording. */
export function parseTwinArgs(argv: readonly string[]): TwinArgs {
  const seen: Array<[Spec, string | undefined]> = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-' || !a.startsWith('-')) {
      operands.push(a);
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = longSpec(name);
      let value = eq < 0 ? undefined : a.slice(eq + 1);
      if (value !== undefined && spec.arg === 'none') throw new UsageError(`option '--${spec.long}' doesn't allow an argument`);
      if (value === undefined && spec.arg === 'required') {
        if (i + 1 >= argv.length) throw new UsageError(`option '--${spec.long}' requires an argument`);
        value = argv[++i];
      }
      if (value === undefined && spec.arg === 'optional' && isNumber(argv[i + 1])) value = argv[++i];
      seen.push([spec, value]);
      continue;
    }
    for (let k = 1; k < a.length; k++) {
      const spec = SPECS.find((s) => s.short === a[k]);
      if (!spec) throw new UsageError(`invalid option -- '${a[k]}'`);
      if (spec.arg === 'none') {
        seen.push([spec, undefined]);
        continue;
      }
      const rest = a.slice(k + 1);
      if (spec.arg === 'optional' && rest !== '' && !isNumber(rest)) {
        seen.push([spec, undefined]); // `-wn`: -w without a value, then -n
        continue;
      }
      let value: string | undefined = rest || undefined;
      if (value === undefined && spec.arg === 'required') {
        if (i + 1 >= argv.length) throw new UsageError(`option requires an argument -- '${spec.short}'`);
        value = argv[++i];
      }
      if (value === undefined && isNumber(argv[i + 1])) value = argv[++i];
      seen.push([spec, value]);
      break;
    }
  }
  if (operands.length > 1) throw new UsageError(`unknown arguments found on the command line: ${clip(operands.slice(1).join(' '))} (one FILE at most)`);
  return build(seen, operands[0]);
}

function longSpec(name: string): Spec {
  const exact = SPECS.find((s) => s.long === name);
  if (exact) return exact;
  const prefixed = name ? SPECS.filter((s) => s.long.startsWith(name)) : [];
  if (prefixed.length === 1) return prefixed[0];
  if (prefixed.length > 1) throw new UsageError(`option '--${clip(name)}' is ambiguous; possibilities: ${prefixed.map((s) => `'--${s.long}'`).join(' ')}`);
  throw new UsageError(`unrecognized option '--${clip(name)}'`);
}

/** iptables-restore's own options: repeating one is accepted, as getopt in iptables-restore does. */
const OWN = SPECS.slice(0, SPECS.findIndex((s) => s.long === 'backend'));

function build(seen: Array<[Spec, string | undefined]>, file: string | undefined): TwinArgs {
  const twice = seen.find(([spec], i) => spec.arg !== 'none' && spec.long !== 'preserve' && !OWN.includes(spec) && seen.findIndex(([s]) => s === spec) !== i);
  if (twice) throw new UsageError(`option '--${twice[0].long}' given more than once: give it once`);
  const t: TwinArgs = { counters: false, noflush: false, test: false, verbose: false, version: false, help: false, preserve: [], force: false, quiet: false, file };
  for (const [spec, value] of seen) {
    const v = value ?? '';
    switch (spec.long) {
      case 'counters': t.counters = true; break;
      case 'noflush': t.noflush = true; break;
      case 'test': t.test = true; break;
      case 'verbose': t.verbose = true; break;
      case 'version': t.version = true; break;
      case 'help': t.help = true; break;
      case 'force': t.force = true; break;
      case 'confirm': t.confirm = v; break;
      case 'quiet': t.quiet = true; break;
      case 'ipv4': t.family = 'ipv4'; break;
      case 'ipv6': t.family = 'ipv6'; break;
      case 'wait':
        if (value !== undefined && !isNumber(value)) throw new UsageError(`wait seconds not numeric: '${clip(value)}'`);
        t.wait = value === undefined ? 'forever' : Number(value);
        break;
      case 'wait-interval':
        if (!isNumber(v) || Number(v) > 999999) throw new UsageError(`wait interval must be a number of microseconds up to 999999, not '${clip(v)}'`);
        t.waitInterval = Number(v);
        break;
      case 'table': t.table = v; break;
      case 'modprobe': t.modprobe = v; break;
      case 'backend':
        if (v !== 'auto' && v !== 'nft' && v !== 'legacy') throw new UsageError(`--backend must be auto, nft or legacy, not '${v}'`);
        t.backend = v;
        break;
      case 'lock-wait':
        if (!isNumber(v)) throw new UsageError(`--lock-wait needs a number of seconds, not '${v}'`);
        t.lockWait = Number(v);
        break;
      case 'state-dir': t.stateDir = v; break;
      case 'docker-socket': t.dockerSocket = v; break;
      case 'preserve': t.preserve.push(v); break;
      case 'config': t.config = v; break;
      case 'netns': t.netns = v; break;
      case 'lock-file': t.lockFile = v; break;
    }
  }
  return t;
}
