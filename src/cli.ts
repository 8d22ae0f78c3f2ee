// The command table: options → typed calls. No logic lives here; each verb's module is
// loaded only when that verb runs, so `--version` and `--help` start fast.
//
// The command line (README, man page "INPUT AND COMMAND LINE"): options before or after the
// files, `--` ends them, `-` is stdin (standIns); an option with a value given twice is an error
// (refuseRepeats); an option word that names a file here is refused (option-words.ts, main.ts);
// the commands that take the lock check their inputs first (preflight).
import yargs, { type Argv } from 'yargs';
import { pipelineArgs, type GivenOptions } from './command-options.js';
import { profileNames } from './core/owners/index.js';
import type { Family } from './core/model.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { clip, UsageError } from './errors.js';
import { consoleOutput } from './ui/output.js';

export { VERSION } from './version.js';
import { VERSION } from './version.js';

interface Global {
  family: Family;
  prog: string;
}

export async function runCli(argv: string[], global: Global): Promise<ExitCode> {
  let code: ExitCode = EXIT.OK;
  const out = (a: { quiet?: boolean; verbose?: boolean }) => consoleOutput(a, global.prog);
  const isGiven = (key: string) => argv.some((x) => x === `--${key}` || x.startsWith(`--${key}=`));
  // yargs fills in defaults; the configuration file's settings count only where none was given
  const given = <A extends GivenOptions>(a: A): A => ({ ...a, backend: isGiven('backend') ? a.backend : undefined });
  const familyOf = (a: { ipv4?: boolean; ipv6?: boolean }): Family => (a.ipv6 ? 'ipv6' : a.ipv4 ? 'ipv4' : global.family);

  const words = standIns(argv);
  const parser = yargs(words.argv.map((x) => (x === '--confirm' ? '--confirm=' : x))) // bare --confirm never takes the next word as its value
    .scriptName(global.prog)
    .usage(`$0 <command> [options]\n\nA Docker-safe replacement for ${global.family === 'ipv4' ? 'iptables' : 'ip6tables'}-restore.`)
    .option('ipv4', { alias: '4', type: 'boolean', description: 'IPv4 rules (default for iptables-safe-restore)' })
    .option('ipv6', { alias: '6', type: 'boolean', description: 'IPv6 rules (default for ip6tables-safe-restore)' })
    .option('verbose', { alias: 'v', type: 'boolean', description: 'say more about what is done' })
    .option('quiet', { alias: 'q', type: 'boolean', description: 'print only data and errors' })
    .conflicts('ipv4', 'ipv6')
    // before yargs validates: the stand-ins replaced by the words they stand for; an option twice refused
    .middleware((a) => {
      words.restore(a);
      refuseRepeats(a);
    }, true)
    .command(
      'check [file]',
      'validate a ruleset offline (syntax and references); exit 0 when valid, 1 with FILE:LINE: reason when not',
      (y) =>
        y
          .positional('file', { type: 'string', description: 'restore-format file (stdin when omitted or -)' })
          .option('canonical', { type: 'boolean', description: 'print the ruleset as iptables-save would print it' })
          .option('kernel', { type: 'boolean', description: 'with --canonical: ask the kernel (root; throwaway network namespace) instead of the offline normalizer' })
          .option('backend', { choices: ['auto', 'nft', 'legacy'] as const, default: 'auto' as const, description: 'iptables backend for --kernel' })
          .option('force', FORCE),
      async (a) => {
        const { check } = await import('./commands/check.js');
        const { readConfig } = await import('./io/config.js');
        const { maxRulesetSize } = readConfig(undefined);
        code = await check({ file: a.file, family: familyOf(a), canonical: a.canonical, kernel: a.kernel, backend: a.backend, force: a.force, maxRulesetSize }, out(a));
      },
    )
    .command(
      'merge [file]',
      "print the target ruleset: your rules with the live Docker-owned chains and rules merged in (changes nothing)",
      (y) => pipelineOptions(y.positional('file', { type: 'string', description: 'restore-format file (stdin when omitted or -)' })),
      async (a) => {
        const { mergeCommand } = await import('./commands/merge.js');
        code = await mergeCommand(await pipelineArgs(given(a), familyOf(a)), out(a));
      },
    )
    .command(
      'explain [file]',
      "show each line of your file as kept or stripped (and why), and what is preserved from the live ruleset",
      (y) => pipelineOptions(y.positional('file', { type: 'string', description: 'restore-format file (stdin when omitted or -)' })),
      async (a) => {
        const { explainCommand } = await import('./commands/explain.js');
        code = await explainCommand(await pipelineArgs(given(a), familyOf(a)), out(a));
      },
    )
    .command(
      'plan [file]',
      'show what apply would change (nothing is changed); exit 0 no changes, 2 changes pending, 1 error',
      (y) =>
        stateOptions(pipelineOptions(y.positional('file', { type: 'string', description: 'restore-format file (stdin when omitted or -)' })))
          .option('json', { type: 'boolean', description: 'print the plan as JSON (schema: README, "Plan JSON")' })
          .option('out', { type: 'string', description: 'save the plan (JSON) for apply --plan' })
          .option('context', { alias: 'U', type: 'number', default: 3, description: 'context lines around each change in the diff' })
          .option('explain', { type: 'boolean', description: 'list every line stripped from your file, with the reason' })
          .option('color', { type: 'boolean', description: 'colour the diff (default: on a terminal; --no-color or NO_COLOR turn it off)' })
          .option('canonical', { choices: ['auto', 'kernel', 'lexical'] as const, default: 'auto' as const, description: 'how rules are compared: kernel (root, throwaway namespace), lexical (offline), auto' }),
      async (a) => {
        const { planCommand } = await import('./commands/plan.js');
        code = await planCommand(
          { ...(await pipelineArgs(given(a), familyOf(a))), json: a.json, out: a.out, context: a.context, explain: a.explain, color: a.color, canonical: a.canonical, stateDir: a.stateDir, wait: a.wait },
          out(a),
        );
      },
    )
    .command(
      'apply [file] [file6]',
      'make the kernel hold the target: only what you own is written, verified, rolled back on failure',
      (y) =>
        confirmOptions(txOptions(stateOptions(pipelineOptions(y.positional('file', { type: 'string', description: 'restore-format file (stdin when omitted or -)' })
          .positional('file6', { type: 'string', description: 'with --family both: the IPv6 file' })))))
          .option('family', { choices: ['ipv4', 'ipv6', 'both'] as const, description: 'which rulesets (both: FILE is IPv4, FILE6 IPv6, one transaction)' })
          .option('plan', { type: 'string', description: 'apply a plan saved with plan --out (refused if the live ruleset changed since)' })
          .option('recover', { type: 'boolean', description: 'first restore the snapshot of an apply that did not finish' }),
      async (a) => {
        const { applyCommand } = await import('./commands/apply.js');
        const base = await pipelineArgs(given(a), familyOf(a));
        const files = [a.file, a.file6].filter((f): f is string => f !== undefined);
        await preflight(base, a.plan ? [] : files.length ? files : ['-'], a.plan);
        code = await applyCommand(
          { ...base, ...txArgs(a), files: files.length ? files : ['-'], family: a.family ?? familyOf(a), plan: a.plan, recover: a.recover, confirm: a.confirm, force: a.force },
          out(a),
        );
      },
    )
    .command(
      'rollback [snapshot]',
      "restore a snapshot's user-owned parts (default: the newest), merged with the current Docker rules",
      (y) => confirmOptions(txOptions(stateOptions(pipelineOptions(y.positional('snapshot', { type: 'string', description: 'snapshot id (see history)' }))))),
      async (a) => {
        const { rollbackCommand } = await import('./commands/rollback.js');
        const base = await pipelineArgs(given(a), familyOf(a));
        const only = a.ipv4 ? 'ipv4' : a.ipv6 ? 'ipv6' : undefined;
        code = await rollbackCommand({ ...base, ...txArgs(a), snapshot: a.snapshot, only, confirm: a.confirm, force: a.force }, out(a));
      },
    )
    .command(
      'recover',
      'if an apply died half-way (crash, power loss), restore the snapshot it took; else nothing (for boot and timers)',
      (y) => txOptions(stateOptions(pipelineOptions(y))),
      async (a) => {
        const { recoverCommand } = await import('./commands/recover.js');
        const base = await pipelineArgs(given(a), familyOf(a));
        code = await recoverCommand({ ...base, ...txArgs(a) }, out(a));
      },
    )
    .command(
      'confirm',
      'keep the change awaiting confirmation (apply --confirm); run it from a NEW login: that it works proves the new rules let you in',
      (y) =>
        stateOptions(y)
          .option('status', { type: 'boolean', description: 'show what is awaiting confirmation (exit 8 when something is, 0 when not)' })
          .option('reject', { type: 'boolean', description: 'roll the pending change back now instead of at its deadline' })
          .option('json', { type: 'boolean', description: 'with --status: as JSON' })
          .option('lock-wait', { type: 'number', default: 30, description: "seconds to wait for the tool's lock" })
          .conflicts('status', 'reject'),
      async (a) => {
        const { confirmCommand } = await import('./commands/confirm.js');
        code = await confirmCommand({ stateDir: a.stateDir, lockWait: a.lockWait, status: a.status, reject: a.reject, json: a.json }, out(a));
      },
    )
    .command(
      '__watchdog',
      false, // internal: the process apply --confirm leaves behind
      (y) => y.option('state-dir', { type: 'string', demandOption: true }).option('token', { type: 'string', demandOption: true }),
      async (a) => {
        const { watchdogCommand } = await import('./commands/watchdog.js');
        code = await watchdogCommand({ stateDir: a.stateDir, token: a.token });
      },
    )
    .command(
      'save',
      "print the live ruleset like iptables-save, without Docker's (and other preserved owners') chains and rules",
      (y) =>
        pipelineOptions(y)
          .option('counters', { alias: 'c', type: 'boolean', description: 'with packet and byte counters (iptables-save -c)' })
          .option('table', { alias: 't', type: 'string', description: 'only this table' })
          .option('out', { type: 'string', description: 'write to FILE atomically (0600; never through a symlink), keeping the previous one as FILE.save' }),
      async (a) => {
        const { saveCommand } = await import('./commands/save.js');
        code = await saveCommand({ ...(await pipelineArgs(given(a), familyOf(a))), counters: a.counters, table: a.table, out: a.out }, out(a));
      },
    )
    .command(
      'stop',
      "what 'service iptables stop' should do on a Docker host: policies ACCEPT, your rules and chains gone, Docker's kept",
      (y) => txOptions(stateOptions(pipelineOptions(y))).option('table', { alias: 't', type: 'string', description: 'only this table' }),
      async (a) => {
        const { stopCommand } = await import('./commands/stop.js');
        code = await stopCommand({ ...(await pipelineArgs(given(a), familyOf(a))), ...txArgs(a), table: a.table }, out(a));
      },
    )
    .command(
      'reconcile [file]',
      'for cron and timers: in sync → nothing printed, exit 0; drifted → applied, one line, exit 7; lock held → quiet exit 6. ' +
        'FILE: rules-ipv4/rules-ipv6 of the configuration, else the first that exists of /etc/sysconfig/iptables, /etc/iptables/rules.v4 ' +
        '(IPv6: /etc/sysconfig/ip6tables, /etc/iptables/rules.v6)',
      (y) => txOptions(stateOptions(pipelineOptions(y.positional('file', { type: 'string', description: 'restore-format file (default: see above)' })))),
      async (a) => {
        const { reconcileCommand, defaultRulesFile } = await import('./commands/reconcile.js');
        const { readConfig } = await import('./io/config.js');
        const base = await pipelineArgs(given(a), familyOf(a));
        const config = readConfig(a.config);
        const file = base.file ?? defaultRulesFile(base.family, config);
        await preflight(base, [file]);
        code = await reconcileCommand({ ...base, file, ...txArgs(a), config }, out(a));
      },
    )
    .command(
      'history',
      'journal entries and snapshots, newest first',
      (y) => stateOptions(y).option('json', { type: 'boolean', description: 'as JSON' }),
      async (a) => {
        const { historyCommand } = await import('./commands/history.js');
        code = historyCommand({ stateDir: a.stateDir, json: a.json }, out(a));
      },
    )
    .middleware(async (a) => {
      const cmd = String(a._[0] ?? '');
      const dir = typeof a.stateDir === 'string' ? a.stateDir : '/var/lib/iptables-safe-restore';
      if (['recover', 'rollback', 'apply', 'confirm', '__watchdog', 'stop', 'reconcile'].includes(cmd)) return; // these settle it themselves
      const { readPending, watched, msLeft } = await import('./io/pending.js');
      const p = readPending(dir);
      if (p && (!watched(p) || msLeft(p) < -5000)) {
        process.stderr.write(`${global.prog}: warning: the change applied ${p.appliedAt} awaits confirmation (deadline ${p.deadline}) but ${watched(p) ? 'its watchdog has not rolled it back' : 'its watchdog is gone'}; run '${global.prog} recover' to roll it back to snapshot ${p.snapshot}\n`);
      }
      if (['history', 'stop', 'reconcile'].includes(cmd)) return;
      const { readInProgress } = await import('./io/journal.js');
      const { pidAlive } = await import('./io/pid.js');
      const u = readInProgress(dir);
      if (u && !pidAlive(u.pid)) process.stderr.write(`${global.prog}: warning: an apply started ${u.time} (pid ${u.pid}) did not finish; run '${global.prog} recover' to restore snapshot ${u.snapshot}\n`);
    })
    // `completion` prints a bash script that asks us back (--get-yargs-completions) at each
    // <TAB>; the packages install its output for both program names.
    .completion('completion', 'print the bash completion script (packages install it; or: source <(iptables-safe-restore completion))')
    .demandCommand(1, 'Give a command (see --help).')
    .strict()
    .version(VERSION)
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .epilog(
      'Exit status: 0 success (check: valid; plan: no changes), 1 error (bad input, no permission, failure),\n' +
        '2 plan: changes pending, 3 apply: nothing to do, 4 failed and rolled back, 5 the rollback failed too,\n' +
        '6 another run holds the lock, 7 reconcile: drift repaired, 8 a change awaits confirmation,\n' +
        '9 confirm: nothing pending, 10 not confirmed: rolled back.\n' +
        `Without a command: '${global.prog} [OPTIONS] [FILE]' does the job of ${global.family === 'ipv4' ? 'iptables' : 'ip6tables'}-restore, Docker-safe ('${global.prog} -h').\n` +
        'Docs: man iptables-safe-restore, or README.md.',
    )
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(words.unmask(msg));
    });
  await parser.parseAsync();
  return code;
}

export { UsageError };

/** Before the tool's lock: each input refused now if it cannot be read (not a regular file, too large); stdin read now (io/input.ts). */
async function preflight(base: { liveFrom?: string; maxRulesetSize?: number }, files: string[], plan?: string): Promise<void> {
  const { preflightInputs } = await import('./io/input.js');
  const { planLimit, rulesetLimit } = await import('./core/limits.js');
  const limit = rulesetLimit(base.maxRulesetSize);
  preflightInputs([
    ...files.map((path) => ({ path, limit })),
    ...(base.liveFrom !== undefined ? [{ path: base.liveFrom, limit }] : []),
    ...(plan !== undefined ? [{ path: plan, limit: planLimit(base.maxRulesetSize) }] : []),
  ]);
}

/**
 * yargs reads a lone `-` as an empty string, and leaves the words after `--` out of the
 * positionals; both are FILEs here (`check -`: stdin; `check -- -x.rules`: that file). They go
 * to yargs as stand-ins, which do not start with `-` (so are never options) and come back in
 * place once parsed. A word after `--` that lands in an option's value (`--preserve x -- f`)
 * is refused: options come before `--` (option-words.ts).
 */
function standIns(argv: readonly string[]) {
  const originals: Array<{ word: string; afterDashDash: boolean }> = [];
  const completing = argv[0] === '--get-yargs-completions';
  const dashDash = completing ? -1 : argv.indexOf('--');
  const mapped = argv.flatMap((word, i) => {
    if (i === dashDash) return [];
    if (completing || (word !== '-' && (dashDash < 0 || i < dashDash))) return [word];
    originals.push({ word, afterDashDash: dashDash >= 0 && i > dashDash });
    return [`\u2063operand${originals.length - 1}\u2063`];
  });
  const unmask = (text: string) => text.replace(/\u2063operand(\d+)\u2063/g, (_, k: string) => originals[Number(k)].word);
  const back = (key: string, value: unknown): unknown => {
    if (Array.isArray(value)) return value.map((v) => back(key, v));
    const m = typeof value === 'string' ? /^\u2063operand(\d+)\u2063$/.exec(value) : null;
    if (!m) return value;
    const o = originals[Number(m[1])];
    if (o.afterDashDash && !POSITIONALS.includes(key)) throw new UsageError(`option --${clip(key)} takes its value before --: the words after -- are files`);
    return o.word;
  };
  return {
    argv: mapped,
    unmask,
    /** Each option under its own name, then its camelCase copy as yargs makes one. */
    restore(a: Record<string, unknown>): void {
      for (const key of Object.keys(a)) if (key !== '$0' && !isCamel(key)) a[key] = back(key, a[key]);
      for (const key of Object.keys(a)) if (isCamel(key) && kebab(key) in a) a[key] = a[kebab(key)];
    },
  };
}

const POSITIONALS = ['_', 'file', 'file6', 'snapshot'];
const isCamel = (key: string) => key.length > 1 && /[A-Z]/.test(key);
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * An option given twice. Flags may repeat (the last of --color/--no-color counts, as with
 * getopt); an option with a value may not — which one was meant? — except --preserve, a list:
 * each adds. yargs collects a repeated value into an array, which is how it shows here.
 */
function refuseRepeats(a: Record<string, unknown>): void {
  const repeated = Object.keys(a).filter((k) => !['_', 'preserve'].includes(k) && !isCamel(k) && Array.isArray(a[k]));
  if (repeated.length === 0) return;
  const name = repeated.reduce((x, y) => (y.length > x.length ? y : x));
  throw new UsageError(`option ${name.length > 1 ? '--' : '-'}${clip(name)} given more than once: give it once`);
}


/** Options shared by every command that reads the live ruleset. */
function pipelineOptions<T>(y: Argv<T>) {
  return y
    .option('live-from', { type: 'string', description: 'use a saved iptables-save output as the live ruleset (no root needed)' })
    .option('backend', { choices: ['auto', 'nft', 'legacy'] as const, default: 'auto' as const, description: 'iptables backend (auto: that of the iptables on PATH)' })
    .option('docker-socket', { type: 'string', description: `Docker Engine API socket (default ${'/var/run/docker.sock'}, used when it answers)` })
    .option('preserve', { type: 'string', array: true, description: `also keep another tool's chains: ${profileNames().filter((n) => n !== 'docker').join(', ')}` })
    .option('config', { type: 'string', description: 'configuration file (default /etc/iptables-safe-restore.conf, when present)' })
    .option('netns', { type: 'string', description: 'work on the firewall of this network namespace (a name under /run/netns, or a path)' })
    .option('timeout', { type: 'string', description: 'how long iptables-restore, iptables-save and other tools may run before they are killed (default 5m; after a write: rolled back)' })
    .option('force', FORCE);
}

/** One --force for every refusal a user may override (both stated when it is used). */
const FORCE = {
  type: 'boolean',
  description: 'go on past a refusal: read a ruleset file a non-root user or group could write (with a warning); confirm a change awaiting confirmation first',
} as const;

/** Options of commands that keep state or call iptables-restore. */
function stateOptions<T>(y: Argv<T>) {
  return y
    .option('state-dir', { type: 'string', default: '/var/lib/iptables-safe-restore', description: 'where snapshots, the journal and caches live (0700)' })
    .option('wait', { alias: 'w', type: 'number', description: 'seconds to wait for the xtables lock (iptables -w)' });
}

/** Options of commands that change the kernel (apply, rollback, recover). */
function txOptions<T>(y: Argv<T>) {
  return y
    .option('lock-wait', { type: 'number', default: 0, description: "seconds to wait for the tool's lock (0: fail at once, saying who holds it)" })
    .option('lock-file', { type: 'string', default: '/run/iptables-safe-restore.lock', description: "the tool's lock (flock)" })
    .option('keep', { type: 'number', default: 20, description: 'how many snapshots to keep' });
}

/** --confirm (and --force), for the commands that change the kernel (apply, rollback). */
function confirmOptions<T>(y: Argv<T>) {
  return y
    .option('confirm', { type: 'string', description: 'roll back at the end of DURATION (--confirm=90s; bare: 60s) unless `confirm` runs first, from a new login' })
    .option('force', FORCE);
}

function txArgs(a: { stateDir: string; lockWait: number; lockFile: string; keep: number; wait?: number }) {
  return { stateDir: a.stateDir, lockWait: a.lockWait, lockFile: a.lockFile, keep: a.keep, wait: a.wait };
}
