// Names a rule may jump to without a chain of that name: the standard verdicts and the
// target extensions iptables 1.8 ships (libxt_*, libipt_* for IPv4, libip6t_* for IPv6).
// A `-j NAME` that is neither one of these nor a chain of the table is an error.
import type { Family, TableName } from './model.js';

export const STANDARD_TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'QUEUE']);

const COMMON_EXTENSIONS = [
  'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CONNMARK', 'CONNSECMARK', 'CT', 'DNAT', 'DSCP', 'HMARK',
  'IDLETIMER', 'LED', 'LOG', 'MARK', 'MASQUERADE', 'NETMAP', 'NFLOG', 'NFQUEUE', 'NOTRACK',
  'RATEEST', 'REDIRECT', 'REJECT', 'SECMARK', 'SET', 'SNAT', 'SYNPROXY', 'TCPMSS',
  'TCPOPTSTRIP', 'TEE', 'TOS', 'TPROXY', 'TRACE',
];
const IPV4_ONLY = ['CLUSTERIP', 'ECN', 'TTL', 'ULOG'];
const IPV6_ONLY = ['DNPT', 'HL', 'SNPT'];

const EXTENSIONS: Record<Family, Set<string>> = {
  ipv4: new Set([...COMMON_EXTENSIONS, ...IPV4_ONLY]),
  ipv6: new Set([...COMMON_EXTENSIONS, ...IPV6_ONLY]),
};

/** Targets that the kernel accepts only in some tables (their xt_target `.table`). */
const TABLE_ONLY: Record<string, readonly TableName[]> = {
  DNAT: ['nat'], SNAT: ['nat'], MASQUERADE: ['nat'], REDIRECT: ['nat'], NETMAP: ['nat'],
  DNPT: ['mangle'], SNPT: ['mangle'], CT: ['raw'], NOTRACK: ['raw'], CHECKSUM: ['mangle'],
  TPROXY: ['mangle'], TTL: ['mangle'], HL: ['mangle'], ECN: ['mangle'], DSCP: ['mangle'],
  TOS: ['mangle'], SECMARK: ['mangle', 'security'], CONNSECMARK: ['mangle', 'security'],
};

export function isTargetExtension(name: string, family: Family): boolean {
  return EXTENSIONS[family].has(name);
}

export function isOtherFamilyExtension(name: string, family: Family): boolean {
  return !EXTENSIONS[family].has(name) && EXTENSIONS[family === 'ipv4' ? 'ipv6' : 'ipv4'].has(name);
}

/** The tables a target is restricted to, if any (e.g. DNAT → nat). */
export function targetTables(name: string): readonly TableName[] | undefined {
  return TABLE_ONLY[name];
}

export function isKnownTarget(name: string, family: Family): boolean {
  return STANDARD_TARGETS.has(name) || isTargetExtension(name, family);
}
