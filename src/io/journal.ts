// Snapshots and the journal, in the state directory.
//
//   snapshots/<id>/ipv4.rules, ipv6.rules   the live tables an apply touched, before it wrote
//   snapshots/<id>/meta.json                when, which families/tables/backends, why
//   journal.jsonl                           one JSON line per finished run, oldest first
//   in-progress.json                        present only between an apply's first write and
//                                           its end: a crash leaves it, and every command
//                                           that starts reports it
//   confirm-pending.json                    a change awaiting confirmation (pending.ts)
//
// Directories 0700, files 0600, no symlink followed (state.ts, files.ts). Durable: each file is
// fsynced, then its directory, so the snapshot and the "in progress" mark are on disk before
// the first iptables write (a power cut after it finds them for `recover`).
import { constants, closeSync, existsSync, fsyncSync, openSync, readdirSync, rmSync, statfsSync, unlinkSync, writeSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Family, TableName } from '../core/model.js';
import { UserError } from '../errors.js';
import { ensureDir, readStateFile, writeStateFile } from './state.js';
import { fsyncDir } from './files.js';

export interface SnapshotMeta {
  id: string;
  time: string;
  reason: string;
  families: Partial<Record<Family, { backend: string; tables: TableName[] }>>;
}

export interface JournalEntry {
  time: string;
  id: string;
  result: 'in-progress' | 'applied' | 'nothing-to-do' | 'rolled-back' | 'rollback-failed' | 'failed' | 'recovered' | 'confirmed' | 'not-confirmed';
  user: string;
  pid: number;
  command: string;
  file?: string;
  fileDigest?: string;
  families: Family[];
  snapshot?: string;
  summary?: string;
  errors?: string[];
  /** apply --confirm: the deadline by which the change had to be confirmed. */
  confirmBy?: string;
  /** not-confirmed: how long after the deadline the rollback had finished (ms). */
  lagMs?: number;
}

export class NoRoomError extends UserError {}

export function snapshotPath(stateDir: string, id: string, family?: Family): string {
  return family ? join(stateDir, 'snapshots', id, `${family}.rules`) : join(stateDir, 'snapshots', id);
}

/** Write a snapshot; refuse (nothing written to the kernel yet) when there is no room for it. */
/** Each family's text may come in pieces (written one after the other). */
export function writeSnapshot(stateDir: string, meta: SnapshotMeta, texts: Partial<Record<Family, string | readonly string[]>>): void {
  const dir = snapshotPath(stateDir, meta.id);
  ensureDir(join(stateDir, 'snapshots'));
  const bytes = (t: string | readonly string[] | undefined) => (typeof t === 'string' ? [t] : (t ?? [])).reduce((n, p) => n + Buffer.byteLength(p), 0);
  const need = Object.values(texts).reduce((s, t) => s + bytes(t), 0) * 2 + 65536;
  try {
    const st = statfsSync(join(stateDir, 'snapshots'));
    if (st.bavail * st.bsize < need) throw new NoRoomError(`no room for the snapshot in ${stateDir} (${need} bytes needed): nothing was changed`);
  } catch (e) {
    if (e instanceof NoRoomError) throw e;
  }
  try {
    for (const [family, text] of Object.entries(texts)) writeStateFile(dir, `${family}.rules`, text ?? '');
    writeStateFile(dir, 'meta.json', JSON.stringify(meta, null, 2) + '\n');
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new NoRoomError(`no room for the snapshot in ${stateDir}: nothing was changed`);
    throw e;
  }
}

export function readSnapshotMeta(stateDir: string, id: string): SnapshotMeta | undefined {
  const text = readStateFile(snapshotPath(stateDir, id), 'meta.json');
  return text ? (JSON.parse(text) as SnapshotMeta) : undefined;
}

export function readSnapshot(stateDir: string, id: string, family: Family): string | undefined {
  return readStateFile(snapshotPath(stateDir, id), `${family}.rules`);
}

/** Snapshot ids, newest first (ids sort by time). */
export function listSnapshots(stateDir: string): string[] {
  try {
    return readdirSync(join(stateDir, 'snapshots'))
      .filter((n) => !n.startsWith('.') && lstatSync(join(stateDir, 'snapshots', n)).isDirectory())
      .sort()
      .reverse();
  } catch {
    return [];
  }
}

/** Keep the newest `keep` snapshots (and any named in `protect`). */
export function pruneSnapshots(stateDir: string, keep: number, protect: string[] = []): void {
  for (const id of listSnapshots(stateDir).slice(keep)) {
    if (!protect.includes(id)) rmSync(snapshotPath(stateDir, id), { recursive: true, force: true });
  }
}

export function appendJournal(stateDir: string, entry: JournalEntry): void {
  ensureDir(stateDir);
  const created = !existsSync(join(stateDir, 'journal.jsonl'));
  const fd = openSync(join(stateDir, 'journal.jsonl'), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, JSON.stringify(entry) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) fsyncDir(stateDir); // its entry too, when it was created just now
}

export function readJournal(stateDir: string): JournalEntry[] {
  const text = readStateFile(stateDir, 'journal.jsonl') ?? '';
  return text.split('\n').filter(Boolean).flatMap((l) => {
    try {
      return [JSON.parse(l) as JournalEntry];
    } catch {
      return [];
    }
  });
}

/** Who runs this command, for the journal: the sudo user, else the login name. */
export function currentUser(): string {
  return process.env.SUDO_USER ?? process.env.USER ?? `uid ${process.getuid?.()}`;
}

/** The user and where they logged in from (SSH_CONNECTION), for who confirmed or made a change. */
export function currentUserAndOrigin(): string {
  const from = process.env.SSH_CONNECTION?.split(' ')[0];
  return `${currentUser()}${from ? ` from ${from}` : ''}`;
}

export function markInProgress(stateDir: string, entry: JournalEntry): void {
  writeStateFile(stateDir, 'in-progress.json', JSON.stringify(entry, null, 2) + '\n');
}

export function readInProgress(stateDir: string): JournalEntry | undefined {
  try {
    const text = readStateFile(stateDir, 'in-progress.json');
    return text ? (JSON.parse(text) as JournalEntry) : undefined;
  } catch {
    return undefined;
  }
}

export function clearInProgress(stateDir: string): void {
  try {
    unlinkSync(join(stateDir, 'in-progress.json'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  fsyncDir(stateDir); // gone for good: a power cut now must not bring back a finished apply's mark
}
