// An Output that records what a command says, for tests.
import type { Output } from '../../src/ui/output.js';

export interface Recorded extends Output {
  stdout: string;
  stderr: string;
}

export function recordOutput(): Recorded {
  const o: Recorded = {
    stdout: '',
    stderr: '',
    print: (t) => void (o.stdout += t),
    result: (l) => void (o.stdout += l + '\n'),
    note: (l) => void (o.stderr += `note: ${l}\n`),
    verbose: () => {},
    warn: (l) => void (o.stderr += `${l}\n`),
    error: (l) => void (o.stderr += `${l}\n`),
  };
  return o;
}
