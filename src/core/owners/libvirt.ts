// Off by default; `--preserve libvirt` keeps these chains and the jumps to them from built-in chains.
import { prefixProfile } from './profile.js';

export const libvirt = prefixProfile('libvirt', 'libvirt network chains (LIBVIRT_*)', ['LIBVIRT_']);
