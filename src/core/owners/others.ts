// Profiles for other tools that keep their own chains, off by default (enable with
// --preserve NAME). They own their chains by name and the jumps to them from built-in chains.
import { prefixProfile } from './profile.js';

export const podman = prefixProfile('podman', 'podman / netavark / CNI chains (NETAVARK*, CNI-*)', ['NETAVARK', 'CNI-']);
export const kubeProxy = prefixProfile('kube-proxy', 'Kubernetes kube-proxy chains (KUBE-*)', ['KUBE-']);
export const calico = prefixProfile('calico', 'Calico Felix chains (cali-*)', ['cali-']);
export const cilium = prefixProfile('cilium', 'Cilium chains (CILIUM_*)', ['CILIUM_']);
export const libvirt = prefixProfile('libvirt', 'libvirt network chains (LIBVIRT_*)', ['LIBVIRT_']);
export const fail2ban = prefixProfile('fail2ban', 'fail2ban jails (f2b-*)', ['f2b-']);
