// Off by default; `--preserve cilium` keeps these chains and the jumps to them from built-in chains.
import { prefixProfile } from './profile.js';

export const cilium = prefixProfile('cilium', 'Cilium chains (CILIUM_*)', ['CILIUM_']);
