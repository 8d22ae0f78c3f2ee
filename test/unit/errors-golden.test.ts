// Golden tests for error messages: each test/fixtures/errors/NAME.rules has NAME.expected,
// written by hand (FILE stands for the path). UPDATE_GOLDEN=1 rewrites them from the
// current output; review such a change like code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseRuleset } from '../../src/core/parse.js';
import { ParseError, formatDiagnostic } from '../../src/errors.js';
import { readInput } from '../../src/io/input.js';
import { fixture, listFiles } from '../helpers/fixtures.js';

const files = listFiles(fixture('errors'), (n) => n.endsWith('.rules'));

test('there are error goldens to check', () => {
  assert.ok(files.length >= 30, `only ${files.length} error fixtures`);
});

for (const file of files) {
  test(`error golden: ${basename(file)}`, () => {
    const family = file.endsWith('.v6.rules') ? 'ipv6' : 'ipv4';
    const expectedPath = file.replace(/\.rules$/, '.expected');
    let got: string;
    try {
      const input = readInput(file);
      parseRuleset(input.text, { file: 'FILE', family });
      got = '(no error)\n';
    } catch (e) {
      assert.ok(e instanceof ParseError, `expected a ParseError, got ${String(e)}`);
      got = e.diagnostics.map(formatDiagnostic).join('\n') + '\n';
    }
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedPath, got);
    assert.equal(got, readFileSync(expectedPath, 'utf8'));
  });
}
