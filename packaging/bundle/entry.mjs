// Entry point of the single-file bundle (scripts/build-bundle). It does what bin/ does, for
// a file installed once and reached through two names (/usr/sbin/iptables-safe-restore and
// ip6tables-safe-restore, symlinks): main() takes the family from process.argv[1], the name
// it was called by. `--version` alone is answered without evaluating the command table, and
// every command module stays behind a dynamic import(), which esbuild keeps lazy.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`iptables-safe-restore: needs Node.js >= 20.19, this is ${process.version} (${process.execPath})\n`);
  process.exit(1);
}
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { VERSION } = await import('../../src/version.ts');
  process.stdout.write(VERSION + '\n');
} else {
  const { main } = await import('../../src/main.ts');
  // Run directly from the build directory, the file's name still reads as the program's.
  process.exitCode = await main(args, process.argv[1].replace(/\.mjs$/, ''));
}
