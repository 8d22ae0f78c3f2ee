#!@NODE@ --max-semi-space-size=1
// iptables-safe-restore @VERSION@: the launcher. The program is @PROGRAM@ beside this file
// (scripts/build-bundle writes both); /usr/sbin/iptables-safe-restore and
// ip6tables-safe-restore are links to this file, and the program takes the family from the
// name it was called by.
//
// The first line names node by absolute path (@NODE@; `scripts/build-bundle --node PATH` or
// ISR_NODE at build time), never through PATH: a root tool that loads the firewall must not
// run whichever `node` comes first (a /usr/local/bin/node). It holds one node option,
// --max-semi-space-size=1 (MB), a small young generation: the program's big data (rulesets of
// 100k rules) lives until it exits and what dies young is small; V8's default (16 MB) grew the
// young generation to ~30 MB of peak memory for nothing (measured at 100k rules: 165 -> 137
// MiB, time unchanged). Linux passes what follows the interpreter as one argument: one option.
//
// Exit 126 means "this program cannot run here" (node too old, the program file missing or
// unreadable as JavaScript): the boot-time wrappers then load the user's rules with the stock
// iptables-restore (packaging/lib/fallback.sh). 126 is what a shell returns for a command
// found but not executable; the program itself never exits with it.
const CANNOT_RUN = 126;
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`iptables-safe-restore: needs Node.js >= 20.19, this is ${process.version} (${process.execPath})\n`);
  process.exit(CANNOT_RUN);
}
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) process.stdout.write('@VERSION@\n');
else {
  let program;
  try {
    program = await import('@PROGRAM@');
  } catch (err) {
    // Loading only (the file and its syntax): what the program does when run is its own business.
    process.stderr.write(`iptables-safe-restore: cannot load the program: ${String(err?.message ?? err).split('\n')[0].slice(0, 160)} (reinstall the package)\n`);
    process.exit(CANNOT_RUN);
  }
  process.exitCode = await program.run();
}
