// The command table: options → typed calls. No logic lives here; each verb's module is
// loaded only when that verb runs, so `--version` and `--help` start fast.
import yargs from 'yargs';
import type { Family } from './core/model.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { UserError } from './errors.js';
import { consoleOutput } from './ui/output.js';

export const VERSION = '0.1.0';

interface Global {
  family: Family;
  prog: string;
}

export async function runCli(argv: string[], global: Global): Promise<ExitCode> {
  let code: ExitCode = EXIT.OK;
  const out = (a: { quiet?: boolean; verbose?: boolean }) => consoleOutput(a, global.prog);
  const familyOf = (a: { ipv4?: boolean; ipv6?: boolean }): Family => (a.ipv6 ? 'ipv6' : a.ipv4 ? 'ipv4' : global.family);

  const parser = yargs(argv)
    .scriptName(global.prog)
    .usage(`$0 <command> [options]\n\nA Docker-safe replacement for ${global.family === 'ipv4' ? 'iptables' : 'ip6tables'}-restore.`)
    .option('ipv4', { alias: '4', type: 'boolean', description: 'IPv4 rules (default for iptables-safe-restore)' })
    .option('ipv6', { alias: '6', type: 'boolean', description: 'IPv6 rules (default for ip6tables-safe-restore)' })
    .option('verbose', { alias: 'v', type: 'boolean', description: 'say more about what is done' })
    .option('quiet', { alias: 'q', type: 'boolean', description: 'print only data and errors' })
    .conflicts('ipv4', 'ipv6')
    .command(
      'check [file]',
      'validate a ruleset offline (syntax and references); exit 0 when valid, 1 with FILE:LINE: reason when not',
      (y) =>
        y
          .positional('file', { type: 'string', description: 'restore-format file (stdin when omitted or -)' })
          .option('canonical', { type: 'boolean', description: 'print the ruleset as iptables-save would print it' })
          .option('kernel', { type: 'boolean', description: 'with --canonical: ask the kernel (root; throwaway network namespace) instead of the offline normalizer' })
          .option('backend', { choices: ['auto', 'nft', 'legacy'] as const, default: 'auto' as const, description: 'iptables backend for --kernel' }),
      async (a) => {
        const { check } = await import('./commands/check.js');
        code = await check({ file: a.file, family: familyOf(a), canonical: a.canonical, kernel: a.kernel, backend: a.backend }, out(a));
      },
    )
    .demandCommand(1, 'Give a command (see --help).')
    .strict()
    .version(VERSION)
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .epilog(
      'Exit status: 0 success (check: valid), 1 error (bad input, no permission, failure).\n' +
        'Docs: man iptables-safe-restore, or README.md.',
    )
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    });
  await parser.parseAsync();
  return code;
}

export class UsageError extends UserError {}
