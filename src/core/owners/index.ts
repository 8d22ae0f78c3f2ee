// The registry of owner profiles. To teach the tool about another program's chains, add a
// module next to this one and list it here; nothing else changes.
import type { OwnerProfile } from './profile.js';
import { UserError } from '../../errors.js';
import { docker } from './docker.js';
import { podman } from './podman.js';
import { kubeProxy } from './kube-proxy.js';
import { calico } from './calico.js';
import { cilium } from './cilium.js';
import { libvirt } from './libvirt.js';
import { fail2ban } from './fail2ban.js';

export const PROFILES: readonly OwnerProfile[] = [docker, podman, kubeProxy, calico, cilium, libvirt, fail2ban];

export function profileNames(): string[] {
  return PROFILES.map((p) => p.name);
}

/** The profiles in force: those on by default plus those asked for, minus those turned off. */
export function selectProfiles(preserve: readonly string[] = [], without: readonly string[] = []): OwnerProfile[] {
  const unknown = [...preserve, ...without].filter((n) => !PROFILES.some((p) => p.name === n));
  if (unknown.length) throw new UserError(`unknown owner profile '${unknown[0]}' (known: ${profileNames().join(', ')})`);
  return PROFILES.filter((p) => (p.defaultOn || preserve.includes(p.name)) && !without.includes(p.name));
}

export type { OwnerProfile } from './profile.js';
