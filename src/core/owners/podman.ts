// Off by default; `--preserve podman` keeps these chains and the jumps to them from built-in chains.
import { prefixProfile } from './profile.js';

export const podman = prefixProfile('podman', 'podman / netavark / CNI chains (NETAVARK*, CNI-*)', ['NETAVARK', 'CNI-']);
