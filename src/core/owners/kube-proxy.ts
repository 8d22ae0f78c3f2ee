// Off by default; `--preserve kube-proxy` keeps these chains and the jumps to them from built-in chains.
import { prefixProfile } from './profile.js';

export const kubeProxy = prefixProfile('kube-proxy', 'Kubernetes kube-proxy chains (KUBE-*)', ['KUBE-']);
