// The docker profile: what Docker Engine 20.10 → 29 writes into iptables.
//
// Chains by name (filter and nat): DOCKER, DOCKER-FORWARD, DOCKER-BRIDGE, DOCKER-CT,
// DOCKER-INTERNAL, DOCKER-ISOLATION-STAGE-1/2, DOCKER-ISOLATION, DOCKER-INGRESS, and
// DOCKER-USER — whose existence and jump are Docker's but whose contents are the user's.
//
// Rules in built-in chains are recognised by shape, and only when the bridge, subnet or
// container they name is Docker's (see facts.ts): a hand-written rule mentioning docker0
// that matches none of these shapes stays the user's.
//
// Placement, measured in the lab (test/fixtures/lab/ORACLE.md: plain restore, then dockerd
// restarted, engines 20.10 / 26 / 28): Docker inserts (-I) its FORWARD rules and its network
// MASQUERADE/SNAT rules, so they stand above the user's rules; it appends (-A) the nat
// PREROUTING/OUTPUT jumps, the per-port hairpin MASQUERADE, the raw direct-access DROPs and
// (≤27) the icc=false `-i BR -o BR -j DROP`, which then stand below them.
import type { Rule, TableName } from '../model.js';
import { coreKeys, hostAddress, type RuleView } from '../rule-view.js';
import { DOCKER_CHAINS, inDockerNetwork, isLoopback, type DockerFacts } from '../facts.js';
import type { OwnedRule, OwnerProfile, Placement } from './profile.js';

const NAT_TARGETS = new Set(['MASQUERADE', 'SNAT']);

function bridge(f: DockerFacts, v: RuleView['i']): string | undefined {
  return v?.value !== undefined && f.bridges.has(v.value) ? v.value : undefined;
}

function onlyMatches(v: RuleView, ...names: string[]): boolean {
  return v.matches.every((m) => names.includes(m) || m === v.p?.value);
}

function forwardRule(v: RuleView, f: DockerFacts): OwnedRule | undefined {
  const keys = coreKeys(v);
  const out = bridge(f, v.o);
  if (out && !v.o!.neg && keys === 'o' && v.target === 'ACCEPT' && onlyMatches(v, 'conntrack')) {
    if (v.opts.get('--ctstate')?.value === 'RELATED,ESTABLISHED') return { reason: `conntrack ACCEPT for Docker bridge ${out}`, placement: 'leading' };
  }
  const inb = bridge(f, v.i);
  if (inb && !v.i!.neg && (keys === 'i' || keys === 'i,o') && v.matches.length === 0 && (v.target === 'ACCEPT' || v.target === 'DROP')) {
    if (v.o && !v.o.neg && v.o.value === inb && v.target === 'DROP') {
      // icc=false on ≤27: appended, so it lands below the user's rules (lab oracle, 20.10 and 26)
      return { reason: `inter-container DROP for Docker bridge ${inb} (icc=false)`, placement: 'trailing' };
    }
    if (!v.o || v.o.value === inb || v.o.neg) return { reason: `forwarding ${v.target} for Docker bridge ${inb}`, placement: 'leading' };
  }
  return undefined;
}

function postroutingRule(v: RuleView, f: DockerFacts): OwnedRule | undefined {
  if (!v.target || (!NAT_TARGETS.has(v.target) && v.target !== 'MASQUERADE')) return undefined;
  const keys = coreKeys(v);
  const out = bridge(f, v.o);
  if (out && v.o!.neg && keys === 's,o' && !v.s!.neg && v.matches.length === 0) {
    return { reason: `${v.target} for Docker network ${v.s!.value} (${out})`, placement: 'leading' };
  }
  if (out && !v.o!.neg && keys === 'o' && v.matches.join() === 'addrtype' && v.opts.get('--src-type')?.value === 'LOCAL') {
    return { reason: `${v.target} of local traffic into Docker bridge ${out}`, placement: 'leading' };
  }
  const src = hostAddress(v.s?.value);
  if (v.target === 'MASQUERADE' && src && src === hostAddress(v.d?.value) && !v.s!.neg && !v.d!.neg && inDockerNetwork(f, src)) {
    return { reason: `hairpin MASQUERADE for container ${src}`, placement: 'trailing' };
  }
  return undefined;
}

function rawRule(v: RuleView, f: DockerFacts): OwnedRule | undefined {
  const dst = hostAddress(v.d?.value);
  if (!dst || v.d!.neg) return undefined;
  const port = v.opts.get('--dport')?.value;
  if (isLoopback(dst)) {
    const published = port !== undefined && f.loopbackPorts.has(`${v.p?.value ?? 'tcp'}/${port}`);
    if (!published) return undefined;
    if (v.target === 'DROP' && v.i?.neg && v.i.value === 'lo') return { reason: `raw DROP guarding port ${port} published on ${dst}`, placement: 'trailing' };
    if (v.target === 'ACCEPT' && !v.i?.neg && v.i?.value === 'loopback0') return { reason: `WSL2 loopback0 ACCEPT for port ${port} published on ${dst}`, placement: 'trailing' };
    return undefined;
  }
  const br = bridge(f, v.i);
  if (v.target === 'DROP' && br && v.i!.neg && inDockerNetwork(f, dst)) {
    return { reason: `raw DROP guarding container ${dst} (direct access from outside ${br})`, placement: 'trailing' };
  }
  return undefined;
}

function overlayRule(v: RuleView): OwnedRule | undefined {
  if (v.p?.value === 'udp' && v.opts.get('--dport')?.value === '4789' && v.matches.includes('u32')) {
    return { reason: 'encrypted overlay (VXLAN 4789) rule of Docker swarm', placement: 'leading' };
  }
  return undefined;
}

function sctpChecksum(v: RuleView, f: DockerFacts): OwnedRule | undefined {
  if (v.target !== 'CHECKSUM' || v.p?.value !== 'sctp') return undefined;
  if (inDockerNetwork(f, v.s?.value) || inDockerNetwork(f, v.d?.value) || bridge(f, v.o) || bridge(f, v.i)) {
    return { reason: 'SCTP CHECKSUM for a Docker-published sctp port', placement: 'trailing' };
  }
  return undefined;
}

export const docker: OwnerProfile = {
  name: 'docker',
  label: 'Docker',
  summary: "Docker Engine 20.10–29: its chains, its rules in built-in chains, DOCKER-USER's existence and jump",
  defaultOn: true,
  ownsChain: (table, chain) => ((table === 'filter' || table === 'nat') && DOCKER_CHAINS.has(chain) ? `Docker chain ${chain}` : undefined),
  userContentChains: ['DOCKER-USER'],
  defaultContents: (chain) => (chain === 'DOCKER-USER' ? ['-j RETURN'] : []),
  jumpPlacement: (table, chain): Placement => (table === 'nat' && (chain === 'PREROUTING' || chain === 'OUTPUT') ? 'trailing' : 'leading'),
  ownsBuiltinRule(table: TableName, chain: string, _rule: Rule, v: RuleView, f: DockerFacts): OwnedRule | undefined {
    const set = v.opts.get('--match-set');
    if (set?.value?.startsWith('docker-ext-bridges')) return { reason: `uses Docker's ipset ${set.value} (Docker 28.0.0)`, placement: 'leading' };
    if (table === 'filter' && chain === 'FORWARD') return forwardRule(v, f);
    if (table === 'filter' && chain === 'INPUT') return overlayRule(v);
    if (table === 'nat' && chain === 'POSTROUTING') return postroutingRule(v, f);
    if (table === 'raw' && chain === 'PREROUTING') return rawRule(v, f);
    if (table === 'mangle') return overlayRule(v) ?? sctpChecksum(v, f);
    return undefined;
  },
};
