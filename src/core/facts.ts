// What we know about Docker's networks on this host: its bridges, their subnets, container
// addresses, ports published on loopback. Learned from rulesets (the live one and the
// user's file, which may be a stale save) and, when it answers, from the Engine API.
//
// Only rules inside Docker's own chains (by name) teach us bridge names: a name like
// docker0 or br-… is user-settable and a user with `"iptables": false` writes rules
// mentioning docker0 by hand, so a name pattern alone never makes something Docker's.
import type { Rule, Ruleset } from './model.js';
import { parsePrefix, prefixContains, type Prefix } from './cidr.js';
import { hostAddress, viewRule, type RuleView } from './rule-view.js';

export interface DockerNetwork {
  name: string;
  bridge: string;
  subnets: string[];
  containers: string[];
}

export interface DockerFacts {
  bridges: Set<string>;
  subnets: Prefix[];
  containers: Set<string>;
  /** `tcp/8080`: ports Docker publishes on a loopback address. */
  loopbackPorts: Set<string>;
  /** Docker's own chains exist in a live ruleset (Docker manages iptables here). */
  managesIptables: boolean;
  /** From the Engine API: Docker 29's firewall backend. */
  firewallBackend?: 'iptables' | 'nftables';
}

/** Docker's chains (the by-name part of the docker profile, shared with facts learning). */
export const DOCKER_CHAINS = new Set([
  'DOCKER', 'DOCKER-FORWARD', 'DOCKER-BRIDGE', 'DOCKER-CT', 'DOCKER-INTERNAL', 'DOCKER-ISOLATION-STAGE-1',
  'DOCKER-ISOLATION-STAGE-2', 'DOCKER-ISOLATION', 'DOCKER-INGRESS', 'DOCKER-USER',
]);

export function emptyFacts(): DockerFacts {
  return { bridges: new Set(), subnets: [], containers: new Set(), loopbackPorts: new Set(), managesIptables: false };
}

export interface LearnOptions {
  /** Rulesets read from the kernel. */
  live?: Ruleset[];
  /** The user's files (possibly stale saves: their Docker chains name old containers). */
  files?: Ruleset[];
  /** Networks from the Engine API. Used only when Docker manages iptables (its chains are live). */
  networks?: DockerNetwork[];
  firewallBackend?: 'iptables' | 'nftables';
}

export function learnDockerFacts(opts: LearnOptions): DockerFacts {
  const f = emptyFacts();
  const all = [...(opts.live ?? []), ...(opts.files ?? [])];
  f.managesIptables = (opts.live ?? []).some(hasDockerChains);
  f.firewallBackend = opts.firewallBackend;
  const subnets = new Set<string>();
  for (const rs of all) learnFromDockerChains(rs, f, subnets);
  for (const rs of all) learnSubnetsFromNat(rs, f, subnets);
  if (f.managesIptables) {
    for (const n of opts.networks ?? []) {
      f.bridges.add(n.bridge);
      for (const s of n.subnets) subnets.add(s);
      for (const c of n.containers) f.containers.add(c.split('/')[0]);
    }
  }
  for (const s of subnets) {
    const p = parsePrefix(s);
    if (p) f.subnets.push(p);
  }
  return f;
}

export function hasDockerChains(rs: Ruleset): boolean {
  for (const t of rs.tables.values()) for (const name of t.chains.keys()) if (DOCKER_CHAINS.has(name)) return true;
  return false;
}

function dockerChainRules(rs: Ruleset): Array<{ table: string; rule: Rule; view: RuleView }> {
  const out: Array<{ table: string; rule: Rule; view: RuleView }> = [];
  for (const t of rs.tables.values()) {
    for (const c of t.chains.values()) {
      if (c.name === 'DOCKER-USER') continue; // the user's rules: they teach us nothing about Docker
      const inDockerChain = DOCKER_CHAINS.has(c.name);
      if (!inDockerChain && !c.builtin) continue;
      for (const rule of c.rules) {
        const jumpsToDocker = rule.target !== undefined && DOCKER_CHAINS.has(rule.target.name) && rule.target.name !== 'DOCKER-USER';
        if (inDockerChain || (c.builtin && jumpsToDocker)) out.push({ table: t.name, rule, view: viewRule(rule.args) });
      }
    }
  }
  return out;
}

function learnFromDockerChains(rs: Ruleset, f: DockerFacts, subnets: Set<string>): void {
  for (const { table, view } of dockerChainRules(rs)) {
    for (const iface of [view.i?.value, view.o?.value]) {
      if (iface && !iface.endsWith('+') && iface !== 'lo' && iface !== 'loopback0') f.bridges.add(iface);
    }
    if (view.target === 'DNAT') {
      const to = view.targetOpts.get('--to-destination')?.value;
      const addr = to && natAddress(to);
      if (addr) f.containers.add(addr);
      const dport = view.opts.get('--dport')?.value;
      const dst = hostAddress(view.d?.value);
      if (dport && dst && isLoopback(dst)) f.loopbackPorts.add(`${view.p?.value ?? 'tcp'}/${dport}`);
    }
    if (table === 'filter' && view.target === 'ACCEPT' && view.d && !view.d.neg) {
      const a = hostAddress(view.d.value);
      if (a) f.containers.add(a);
    }
    // Internal networks: `! -s SUBNET -o BR -j DROP`, `! -d SUBNET -i BR -j DROP`.
    for (const side of [view.s, view.d]) {
      if (side?.neg && side.value && view.target === 'DROP' && !side.value.endsWith('/32') && !side.value.endsWith('/128')) subnets.add(side.value);
    }
  }
}

/** POSTROUTING `-s SUBNET ! -o BRIDGE -j MASQUERADE|SNAT` names a Docker network's subnet. */
function learnSubnetsFromNat(rs: Ruleset, f: DockerFacts, subnets: Set<string>): void {
  const post = rs.tables.get('nat')?.chains.get('POSTROUTING');
  for (const rule of post?.rules ?? []) {
    const v = viewRule(rule.args);
    if ((v.target === 'MASQUERADE' || v.target === 'SNAT') && v.s && !v.s.neg && v.o?.neg && v.o.value && f.bridges.has(v.o.value)) {
      if (v.s.value) subnets.add(v.s.value);
    }
  }
}

/** `172.17.0.2:80` → 172.17.0.2; `[fd00::2]:80` → fd00::2. */
function natAddress(to: string): string | undefined {
  if (to.startsWith('[')) return to.slice(1, to.indexOf(']'));
  const colon = to.indexOf(':');
  const a = colon >= 0 ? to.slice(0, colon) : to;
  return a.split('-')[0] || undefined;
}

export function isLoopback(addr: string): boolean {
  return addr === '::1' || addr.startsWith('127.');
}

/** Is this address (with or without a host mask) a container's, or inside a Docker subnet? */
export function inDockerNetwork(f: DockerFacts, value: string | undefined): boolean {
  const a = hostAddress(value);
  if (!a) return false;
  return f.containers.has(a) || f.subnets.some((p) => prefixContains(p, a));
}

export function isDockerSubnet(f: DockerFacts, value: string | undefined): boolean {
  return value !== undefined && f.subnets.some((p) => p.text === value);
}
