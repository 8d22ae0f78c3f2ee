// Entry point of the bundled program (scripts/build-bundle), imported by the launcher
// (launcher.mjs: node's options, the node version check, --version), which then calls run():
// loading and running are apart, so that a program file that cannot be loaded is told from a
// program that failed. The family follows the name the launcher was called by
// (process.argv[1]: /usr/sbin/iptables-safe-restore or ip6tables-safe-restore), and every
// command module stays behind a dynamic import(), which esbuild keeps lazy.
export async function run() {
  const { main } = await import('../../src/main.ts');
  // Run straight from the build directory, the file's name still reads as the program's.
  return main(process.argv.slice(2), process.argv[1].replace(/\.mjs$/, ''));
}
