// Gate for tests that need root (network namespaces, real iptables, dockerd).
//
// Outside CI a non-root run skips them with a reason. Under CI=true a skip would hide
// that nothing was tested, so the same condition is a failure instead.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;
export const inCI = (): boolean => process.env.CI === 'true';

/** Returns true when the test may go on; otherwise skips it (or fails it under CI=true). */
export function requireRoot(t: TestContext): boolean {
  if (isRoot()) return true;
  return skipOrFail(t, 'needs root (network namespaces and real iptables)');
}

/** Skip with a reason outside CI; under CI=true, fail with the same reason. */
export function skipOrFail(t: TestContext, reason: string): false {
  if (inCI()) assert.fail(`CI=true: refusing to skip: ${reason}`);
  t.skip(reason);
  return false;
}
