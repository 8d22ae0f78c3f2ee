#!/usr/bin/env -S node --max-semi-space-size=1
// iptables-safe-restore @VERSION@: the launcher. The program is @PROGRAM@ beside this file
// (scripts/build-bundle writes both); /usr/sbin/iptables-safe-restore and
// ip6tables-safe-restore are links to this file, and the program takes the family from the
// name it was called by.
//
// The first line holds node's options: --max-semi-space-size=1 (MB), a small young
// generation. The program's big data (rulesets of 100k rules) lives until it exits and what
// dies young is small; V8's default (16 MB) grew the young generation to ~30 MB of peak memory
// for nothing (measured at 100k rules: 165 -> 137 MiB, time unchanged). `env -S` is
// coreutils >= 8.30 (RHEL 8, Debian 10 and later; not busybox).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`iptables-safe-restore: needs Node.js >= 20.19, this is ${process.version} (${process.execPath})\n`);
  process.exit(1);
}
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) process.stdout.write('@VERSION@\n');
else await import('@PROGRAM@');
