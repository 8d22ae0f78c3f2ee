// Fault injection for tests (documented in test/README.md): ISR_FAULT names steps of an
// apply at which the tool fails, dies, or pauses:
//
//   ISR_FAULT=fail@after-write:ipv4:filter      throw at that step (then: rollback)
//   ISR_FAULT=kill@before-verify                SIGKILL ourselves there (crash: recover)
//   ISR_FAULT=sleep=2000@after-snapshot         pause 2 s there (to race with another run)
//   several, comma-separated
//
// Steps: after-snapshot, before-write:FAMILY:TABLE, after-write:FAMILY:TABLE, before-verify,
// after-verify (verified, before the confirmation is armed and the journal says "applied"),
// during-rollback.
import { SystemError } from '../errors.js';

export class InjectedFault extends SystemError {}

export async function fault(step: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  for (const item of (env.ISR_FAULT ?? '').split(',').filter(Boolean)) {
    const at = item.indexOf('@');
    if (at < 0 || item.slice(at + 1) !== step) continue;
    const action = item.slice(0, at);
    if (action === 'fail') throw new InjectedFault(`injected fault at ${step} (ISR_FAULT)`);
    if (action === 'kill') process.kill(process.pid, 'SIGKILL');
    if (action.startsWith('sleep=')) await new Promise((r) => setTimeout(r, Number(action.slice(6))));
  }
}
