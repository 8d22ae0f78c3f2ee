// The state directory's caches stay bounded (src/io/state.ts pruneStateFiles): a host whose
// ruleset file changes every day must not collect a canonical form per day for ever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lutimesSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneStateFiles } from '../../src/io/state.js';

test('the newest files of a prefix are kept, the oldest removed, other files left alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isr-state-'));
  try {
    const t0 = Date.now() / 1000 - 10_000;
    for (let i = 0; i < 40; i++) {
      const f = join(dir, `canonical-${String(i).padStart(2, '0')}.rules`);
      writeFileSync(f, 'x');
      utimesSync(f, t0 + i, t0 + i); // written in order: 00 oldest, 39 newest
    }
    writeFileSync(join(dir, 'checked-files'), 'keep me');
    // a planted link, older than all: removed like a file, its target untouched
    symlinkSync('/etc/passwd', join(dir, 'canonical-zz-link.rules'));
    lutimesSync(join(dir, 'canonical-zz-link.rules'), t0 - 1, t0 - 1);
    pruneStateFiles(dir, 'canonical-', 32);
    const left = readdirSync(dir).sort();
    assert.equal(left.filter((n) => n.startsWith('canonical-')).length, 32);
    assert.ok(left.includes('checked-files'));
    assert.ok(left.includes('canonical-39.rules') && !left.includes('canonical-07.rules') && left.includes('canonical-08.rules'), left.join(' '));
    assert.ok(!left.includes('canonical-zz-link.rules'), 'the oldest, the link, went first');
    assert.ok(existsSync('/etc/passwd'), 'the link target is untouched');
    pruneStateFiles(join(dir, 'missing'), 'canonical-', 1); // no directory: nothing to do, no error
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
