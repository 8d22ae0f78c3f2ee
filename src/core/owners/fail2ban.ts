// Off by default; `--preserve fail2ban` keeps these chains and the jumps to them from built-in chains.
import { prefixProfile } from './profile.js';

export const fail2ban = prefixProfile('fail2ban', 'fail2ban jails (f2b-*)', ['f2b-']);
