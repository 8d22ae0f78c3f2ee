// A throwaway root for installing packages for real without touching the host: this machine's
// own / as the lower layer of an overlay whose upper layer is a fresh directory on /dev/shm
// (another filesystem, so the layers never overlap), mounted in a private mount namespace
// (`unshare --mount`) and entered with chroot. dpkg, rpm and the maintainer scripts run as on a
// real host — the real dpkg-divert, deb-systemd-helper, systemctl (offline: no systemd is
// running in the root) — and every change they make lands in the upper layer, which the test
// reads from the host afterwards (upper(PATH); deletions are overlay whiteouts). Each run()
// mounts the overlay again in a new namespace: the state carries over, the mounts never outlive
// the call. The network namespace is the host's: nothing run here may touch the firewall (the
// packages' scripts start nothing: /run/systemd/system does not exist in the root).
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const MOUNT = `set -eu
mount -t overlay overlay -o "lowerdir=/,upperdir=$1/upper,workdir=$1/work" "$1/merged"
mount -t proc proc "$1/merged/proc"
mount --rbind /dev "$1/merged/dev"
exec chroot "$1/merged" /bin/sh -c "$2"
`;

export interface RootResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** True when the upper layer's FILE is what the host holds at PATH (copied up, put back as it was). */
function sameAsHost(file: string, path: string): boolean {
  try {
    const a = lstatSync(file);
    const b = lstatSync(path);
    if (a.isSymbolicLink() || b.isSymbolicLink()) return a.isSymbolicLink() && b.isSymbolicLink() && readlinkSync(file) === readlinkSync(path);
    return a.isFile() && b.isFile() && a.mode === b.mode && readFileSync(file).equals(readFileSync(path));
  } catch {
    return false;
  }
}

export class OverlayRoot {
  readonly dir: string;

  constructor(name: string) {
    this.dir = mkdtempSync(join('/dev/shm', `isr-${name}-`));
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(this.dir, d));
  }

  /** Runs a sh SCRIPT as root inside the throwaway root; ENV is added to the environment. */
  run(script: string, env: Record<string, string> = {}): RootResult {
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', MOUNT, 'overlay-root', this.dir, script], {
      encoding: 'utf8',
      // stdin /dev/null: bash (run by rpm) reads ~/.bashrc when its stdin is a socket, as node's pipes are
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive', ...env },
      timeout: 300_000,
    });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** PATH inside the root, as the upper layer holds it (only what the root changed). */
  upper(path: string): string {
    return join(this.dir, 'upper', path);
  }

  /** Files and symlinks the root added or changed (not whiteouts, not directories, not copies equal to the host's), as absolute paths. */
  changed(): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(join(this.dir, 'upper', rel))) {
        const p = join(rel, name);
        const st = lstatSync(join(this.dir, 'upper', p));
        if (st.isDirectory()) walk(p);
        else if (!(st.isCharacterDevice() && st.rdev === 0) && !sameAsHost(join(this.dir, 'upper', p), `/${p}`)) out.push(`/${p}`);
      }
    };
    if (existsSync(join(this.dir, 'upper'))) walk('');
    return out.sort();
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
