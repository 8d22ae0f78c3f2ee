// Refusing a ruleset file that someone other than root could write (src/io/input.ts): the
// rules on owner and mode, for the file and its directory, and --force. Real files; the cases
// that need another owner (chown) run as root only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInput, unsafeDirReason, unsafeReason, UnsafeInputError } from '../../src/io/input.js';
import { requireRoot } from '../helpers/root.js';

const RULES = '*filter\nCOMMIT\n';

test('the rule: owner root, no other-write, group-write only for group root; directories alike unless sticky', () => {
  assert.equal(unsafeReason({ uid: 0, gid: 0, mode: 0o100644 }), undefined);
  assert.equal(unsafeReason({ uid: 0, gid: 0, mode: 0o100664 }), undefined, "group root's write is root's");
  assert.equal(unsafeReason({ uid: 1000, gid: 0, mode: 0o100600 }), 'owned by uid 1000, not root');
  assert.equal(unsafeReason({ uid: 0, gid: 0, mode: 0o100666 }), 'writable by every user');
  assert.equal(unsafeReason({ uid: 0, gid: 50, mode: 0o100664 }), 'writable by group 50');
  assert.equal(unsafeReason({ uid: 0, gid: 50, mode: 0o100644 }), undefined);
  assert.equal(unsafeDirReason({ uid: 0, gid: 0, mode: 0o41777 }), undefined, '/tmp: sticky');
  assert.equal(unsafeDirReason({ uid: 0, gid: 0, mode: 0o40777 }), 'writable by every user');
  assert.equal(unsafeDirReason({ uid: 1000, gid: 0, mode: 0o41777 }), 'owned by uid 1000, not root');
  assert.equal(unsafeDirReason({ uid: 0, gid: 50, mode: 0o40775 }), 'writable by group 50');
});

test('as root: refused with the file and the reason; --force reads it and says why it is unsafe', (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'isr-own-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'rules');
  writeFileSync(f, RULES, { mode: 0o644 });
  assert.equal(readInput(f).unsafe, undefined, 'root-owned 0644 in a root 0700 directory is fine');

  chmodSync(f, 0o666);
  assert.throws(() => readInput(f), (e: unknown) => e instanceof UnsafeInputError &&
    e.message === `${f}: refusing to read it: writable by every user; anyone who can write it controls your firewall (make it root's and not group/world-writable, or give --force)`);
  const forced = readInput(f, { force: true });
  assert.equal(forced.text, RULES);
  assert.equal(forced.unsafe, 'writable by every user');

  chmodSync(f, 0o664);
  chownSync(f, 0, 50);
  assert.throws(() => readInput(f), /writable by group 50/);
  chownSync(f, 1000, 0);
  chmodSync(f, 0o600);
  assert.throws(() => readInput(f), /owned by uid 1000, not root/);
  chownSync(f, 0, 0);
  assert.equal(readInput(f).unsafe, undefined);
  assert.equal(readInput(f, { checkOwnership: false }).unsafe, undefined);
});

test('as root: the directory counts — a world-writable one is refused, a sticky one (/tmp) is not; a symlink\'s two directories', (t) => {
  if (!requireRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'isr-own-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const open = join(dir, 'open');
  mkdirSync(open, { mode: 0o777 });
  chmodSync(open, 0o777);
  const f = join(open, 'rules');
  writeFileSync(f, RULES, { mode: 0o600 });
  assert.throws(() => readInput(f), new RegExp(`${f}: refusing to read it: its directory ${open} is writable by every user`));
  chmodSync(open, 0o1777);
  assert.equal(readInput(f).unsafe, undefined, 'sticky: only root can replace a root-owned file there');
  chmodSync(open, 0o777);
  // a safe-looking link whose target sits in the unsafe directory, and the reverse
  const safe = join(dir, 'safe');
  mkdirSync(safe, { mode: 0o755 });
  symlinkSync(f, join(safe, 'link'));
  assert.throws(() => readInput(join(safe, 'link')), /its directory .*\/open is writable by every user/);
  const g = join(safe, 'real');
  writeFileSync(g, RULES, { mode: 0o600 });
  symlinkSync(g, join(open, 'link'));
  assert.throws(() => readInput(join(open, 'link')), /its directory .*\/open is writable by every user/);
  chownSync(safe, 1000, 0);
  assert.throws(() => readInput(g), /its directory .*\/safe is owned by uid 1000, not root/);
});

test('not as root the check does not apply (nothing such a run reads can change the firewall)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isr-own-'));
  try {
    const f = join(dir, 'rules');
    writeFileSync(f, RULES);
    chmodSync(f, 0o666);
    assert.equal(readInput(f, { checkOwnership: false }).unsafe, undefined);
    assert.equal(readInput(f, { checkOwnership: false }).text, RULES);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
