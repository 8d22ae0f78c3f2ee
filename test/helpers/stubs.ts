// A sandbox for running the packaging's shell scripts (service wrapper, netfilter-persistent
// plugin, reconcile, legacy-actions) without touching the firewall: every program they call
// (iptables-safe-restore, ip6tables-safe-restore, modprobe, sysctl, and the stock
// iptables-restore / ip6tables-restore of the fail-closed path) is a stub on PATH and in
// ISR_BIN_DIR (ISR_STOCK_BIN_DIR) that records its argv (and stdin, for sysctl and the stock
// restores) and exits with a chosen status.
// The scripts' own helpers are laid out as they are installed (/usr/libexec/iptables-safe-restore).
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './fixtures.js';

export const packaging = join(repoRoot, 'packaging');

/** One recorded call: the program's name and its arguments (and stdin when recorded). */
export interface Call {
  prog: string;
  args: string[];
  stdin?: string;
}

// Each call is one JSON line, so arguments with blanks or quotes come back exactly.
// STUB_FAIL="ARG=CODE ..." makes a call exit CODE when ARG is among its arguments.
const stub = `#!/bin/sh
prog=\${0##*/}
stdin=
case $prog in sysctl | iptables-restore | ip6tables-restore) stdin=$(cat) ;; esac
node -e 'process.stdout.write(JSON.stringify({prog:process.argv[1],args:process.argv.slice(3),stdin:process.argv[2]||undefined})+"\\n")' "$prog" "$stdin" "$@" >>"$STUB_LOG"
for rule in \${STUB_FAIL:-}; do
  for a in "$@"; do
    if [ "$a" = "\${rule%=*}" ]; then exit "\${rule##*=}"; fi
  done
done
exit 0
`;

/** What the packages install in /usr/libexec/iptables-safe-restore, from packaging/. */
const LIBEXEC: Record<string, string> = {
  'config.sh': 'lib/config.sh',
  'fallback.sh': 'lib/fallback.sh',
  reconcile: 'lib/reconcile',
  'iptables-service': 'rhel/iptables-service',
  'legacy-actions': 'rhel/legacy-actions',
  'netfilter-persistent-plugin': 'debian/netfilter-persistent-plugin',
};

/** Lays out DIR as the installed /usr/libexec/iptables-safe-restore (symlinks into packaging/): for ISR_LIBEXEC_DIR. */
export function linkLibexec(dir: string): void {
  for (const [name, src] of Object.entries(LIBEXEC)) symlinkSync(join(packaging, src), join(dir, name));
}

export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'isr-pkg-'));
  readonly bin = join(this.dir, 'bin');
  readonly libexec = join(this.dir, 'libexec');
  readonly log = join(this.dir, 'calls.jsonl');

  constructor() {
    mkdirSync(this.bin);
    mkdirSync(this.libexec);
    for (const p of ['iptables-safe-restore', 'ip6tables-safe-restore', 'modprobe', 'sysctl', 'iptables-restore', 'ip6tables-restore']) {
      writeFileSync(join(this.bin, p), stub);
      chmodSync(join(this.bin, p), 0o755);
    }
    linkLibexec(this.libexec);
    writeFileSync(this.log, '');
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  write(name: string, text: string): string {
    const p = this.path(name);
    writeFileSync(p, text);
    return p;
  }

  /** Runs a script with the stubs first on PATH; env adds to (or, with undefined, removes from) the defaults. */
  run(script: string, args: string[], env: Record<string, string | undefined> = {}) {
    const merged: Record<string, string | undefined> = {
      ...process.env,
      PATH: `${this.bin}:${process.env.PATH}`,
      ISR_BIN_DIR: this.bin,
      ISR_STOCK_BIN_DIR: this.bin,
      ISR_LIBEXEC_DIR: this.libexec,
      JOURNAL_STREAM: undefined,
      STUB_LOG: this.log,
      ...env,
    };
    for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
    const r = spawnSync(script, args, { env: merged as NodeJS.ProcessEnv, encoding: 'utf8' });
    const all = this.takeCalls();
    // The fail-closed probe (`TOOL --version`, packaging/lib/fallback.sh) apart from the work.
    const probe = (c: Call) => c.args.length === 1 && c.args[0] === '--version';
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: all.filter((c) => !probe(c)), probes: all.filter(probe) };
  }

  /** The calls recorded since the last run, and a fresh log. */
  takeCalls(): Call[] {
    const lines = existsSync(this.log) ? readFileSync(this.log, 'utf8').split('\n').filter(Boolean) : [];
    writeFileSync(this.log, '');
    return lines.map((l) => JSON.parse(l) as Call);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A call as "prog arg arg", for readable assertions on argv without blanks. */
export const show = (c: Call): string => [c.prog, ...c.args].join(' ');
