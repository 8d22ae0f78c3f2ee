// What the Docker Engine API says about the state that shapes Docker's firewall rules: the
// engine's version and firewall backend, every network (bridge, subnets, gateways, the
// options icc / masquerade / gateway mode / host binding) and every container (its endpoints
// and published ports). `doctor` walks packets with it; `repair` computes the rules the
// engine would have written from it.
//
// Pure: the raw answers (GET /version, /info, /networks/{id}, /containers/{id}/json) come
// from io/docker-api.ts, or from a saved answer file (`--docker-from`), and are only read
// here. The API's JSON is untrusted input: every field is checked for its type, and what is
// missing takes Docker's own default (icc and masquerade on, IPv4 on).
import { parsePrefix } from './cidr.js';

export interface EnginePort {
  proto: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  /** The address the port is published on as Docker reports it: '0.0.0.0' / '::' (every address of that family), '' (all, older engines), or one address. */
  hostIp: string;
  hostPort: number;
}

export interface EngineEndpoint {
  networkId: string;
  network: string;
  ipv4?: string;
  ipv6?: string;
  mac?: string;
}

export interface EngineContainer {
  id: string;
  name: string;
  running: boolean;
  pid?: number;
  startedAt?: string;
  endpoints: EngineEndpoint[];
  ports: EnginePort[];
}

export interface EngineNetwork {
  id: string;
  name: string;
  driver: string;
  bridge: string;
  internal: boolean;
  enableIPv4: boolean;
  enableIPv6: boolean;
  subnets4: string[];
  subnets6: string[];
  gateways4: string[];
  gateways6: string[];
  icc: boolean;
  masquerade: boolean;
  gatewayMode4?: string;
  gatewayMode6?: string;
  hostBindingIpv4?: string;
  hostBindingIpv6?: string;
  options: Record<string, string>;
}

export interface EngineState {
  version: string;
  apiVersion?: string;
  firewallBackend: 'iptables' | 'nftables';
  swarm: boolean;
  networks: EngineNetwork[];
  containers: EngineContainer[];
  /** What in the answers was malformed and left out. */
  warnings: string[];
}

/** The raw answers of the Engine API, as read from the socket or a saved facts file. */
export interface EngineAnswers {
  version: unknown;
  info: unknown;
  /** GET /networks/{id} of each network. */
  networks: unknown[];
  /** GET /containers/{id}/json of each running container. */
  containers: unknown[];
}

const OPT = 'com.docker.network.bridge.';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const bool = (v: unknown, dflt: boolean): boolean => (typeof v === 'boolean' ? v : dflt);
/** Docker's option strings: "true"/"false" (and "1"/"0", as Go's ParseBool takes them). */
const optBool = (v: string | undefined, dflt: boolean): boolean =>
  v === undefined ? dflt : ['true', '1', 't', 'T', 'TRUE', 'True'].includes(v) ? true : ['false', '0', 'f', 'F', 'FALSE', 'False'].includes(v) ? false : dflt;

export function engineStateFromApi(raw: EngineAnswers): EngineState {
  const warnings: string[] = [];
  const version = obj(raw.version);
  const info = obj(raw.info);
  const driver = str(obj(info.FirewallBackend).Driver);
  const networks = raw.networks.map((n) => network(n, warnings)).filter((n): n is EngineNetwork => n !== undefined);
  const byId = new Map(networks.map((n) => [n.id, n]));
  return {
    version: str(version.Version) ?? str(info.ServerVersion) ?? 'unknown',
    apiVersion: str(version.ApiVersion),
    // nftables only when the engine says so: engines before 29 have no such field and use iptables
    firewallBackend: driver?.startsWith('nftables') ? 'nftables' : 'iptables',
    swarm: ['active', 'pending', 'locked'].includes(str(obj(info.Swarm).LocalNodeState) ?? ''),
    networks,
    containers: raw.containers.map((c) => container(c, byId, warnings)).filter((c): c is EngineContainer => c !== undefined),
    warnings,
  };
}

function network(raw: unknown, warnings: string[]): EngineNetwork | undefined {
  const n = obj(raw);
  const id = str(n.Id);
  if (!id) {
    warnings.push('a network without an Id was left out');
    return undefined;
  }
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(n.Options))) if (typeof v === 'string') options[k] = v;
  const subnets4: string[] = [], subnets6: string[] = [], gateways4: string[] = [], gateways6: string[] = [];
  for (const c of Array.isArray(obj(n.IPAM).Config) ? (obj(n.IPAM).Config as unknown[]) : []) {
    const subnet = str(obj(c).Subnet);
    const gateway = str(obj(c).Gateway);
    const p = subnet ? parsePrefix(subnet) : undefined;
    if (subnet && !p) warnings.push(`network ${str(n.Name) ?? id}: subnet '${subnet.slice(0, 60)}' is not an address prefix: left out`);
    if (p) (p.v6 ? subnets6 : subnets4).push(subnet!);
    if (gateway) (gateway.includes(':') ? gateways6 : gateways4).push(gateway);
  }
  const driver = str(n.Driver) ?? '';
  return {
    id,
    name: str(n.Name) ?? id,
    driver,
    bridge: options[`${OPT}name`] || (driver === 'bridge' ? `br-${id.slice(0, 12)}` : ''),
    internal: bool(n.Internal, false),
    enableIPv4: bool(n.EnableIPv4, true),
    enableIPv6: bool(n.EnableIPv6, false),
    subnets4, subnets6, gateways4, gateways6,
    icc: optBool(options[`${OPT}enable_icc`], true),
    masquerade: optBool(options[`${OPT}enable_ip_masquerade`], true),
    gatewayMode4: options[`${OPT}gateway_mode_ipv4`],
    gatewayMode6: options[`${OPT}gateway_mode_ipv6`],
    hostBindingIpv4: options[`${OPT}host_binding_ipv4`],
    hostBindingIpv6: options[`${OPT}host_binding_ipv6`],
    options,
  };
}

function container(raw: unknown, networks: Map<string, EngineNetwork>, warnings: string[]): EngineContainer | undefined {
  const c = obj(raw);
  const id = str(c.Id);
  if (!id) {
    warnings.push('a container without an Id was left out');
    return undefined;
  }
  const state = obj(c.State);
  const settings = obj(c.NetworkSettings);
  const endpoints: EngineEndpoint[] = Object.entries(obj(settings.Networks)).map(([name, e]) => {
    const ep = obj(e);
    const networkId = str(ep.NetworkID) ?? networks.get(name)?.id ?? '';
    return {
      networkId,
      network: networks.get(networkId)?.name ?? name,
      ipv4: str(ep.IPAddress) || undefined,
      ipv6: str(ep.GlobalIPv6Address) || undefined,
      mac: str(ep.MacAddress) || undefined,
    };
  });
  const pid = typeof state.Pid === 'number' && state.Pid > 0 ? state.Pid : undefined;
  return {
    id,
    name: (str(c.Name) ?? id).replace(/^\//, ''),
    running: bool(state.Running, false),
    ...(pid !== undefined ? { pid } : {}),
    ...(str(state.StartedAt) ? { startedAt: str(state.StartedAt) } : {}),
    endpoints,
    ports: ports(settings.Ports, str(c.Name) ?? id, warnings),
  };
}

/** `"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18080"}]`; an unpublished port maps to null. */
function ports(raw: unknown, who: string, warnings: string[]): EnginePort[] {
  const out: EnginePort[] = [];
  for (const [key, bindings] of Object.entries(obj(raw))) {
    const m = /^(\d{1,5})\/(tcp|udp|sctp)$/.exec(key);
    if (!m) {
      warnings.push(`container ${who.slice(0, 60)}: port '${key.slice(0, 20)}' not understood: left out`);
      continue;
    }
    if (!Array.isArray(bindings)) continue;
    for (const b of bindings) {
      const hostPort = Number(str(obj(b).HostPort));
      if (!Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535) continue;
      const hostIp = str(obj(b).HostIp) ?? '';
      out.push({ proto: m[2] as EnginePort['proto'], containerPort: Number(m[1]), hostIp, hostPort });
    }
  }
  return out.sort((a, b) => a.hostPort - b.hostPort || a.proto.localeCompare(b.proto) || a.hostIp.localeCompare(b.hostIp));
}
