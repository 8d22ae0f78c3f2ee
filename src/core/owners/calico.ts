// Off by default; `--preserve calico` keeps these chains and the jumps to them from built-in chains.
import { prefixProfile } from './profile.js';

export const calico = prefixProfile('calico', 'Calico Felix chains (cali-*)', ['cali-']);
