// One question on the terminal, answered with a line, within a time limit. Used only when
// stdin and stdout are both a terminal. It never holds anything up but itself: when the time
// is up, the terminal goes away (EOF) or the answer comes, the terminal is let go.
import { createInterface } from 'node:readline';

export type Answer = { kind: 'line'; text: string } | { kind: 'eof' } | { kind: 'timeout' };

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

export function ask(question: string, timeoutMs: number): Promise<Answer> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  process.stdout.write(question);
  return new Promise<Answer>((resolve) => {
    const done = (a: Answer) => {
      clearTimeout(timer);
      rl.removeAllListeners();
      rl.close();
      process.stdin.pause();
      process.stdin.unref?.();
      resolve(a);
    };
    const timer = setTimeout(() => {
      process.stdout.write('\n');
      done({ kind: 'timeout' });
    }, Math.max(0, timeoutMs));
    rl.once('line', (text) => done({ kind: 'line', text: text.trim() }));
    rl.once('close', () => done({ kind: 'eof' }));
  });
}
