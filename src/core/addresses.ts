// Address checks for the parser: is this -s/-d item, or NAT address, of the ruleset's family?
// (Parsing and printing addresses as iptables does lives in normalize/addr.ts.) Pure string
// work: no resolver, no sockets.
import type { Family } from './model.js';
import { parseV6 } from './normalize/addr.js';

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIPv4(s: string): number[] | undefined {
  const m = V4.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

export function looksIPv4(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
}

export type AddressKind = 'ipv4' | 'ipv6' | 'hostname' | 'invalid';

/** What one `-s`/`-d` list item is (mask included). */
export function addressKind(item: string): AddressKind {
  const slash = item.indexOf('/');
  const addr = slash >= 0 ? item.slice(0, slash) : item;
  if (addr.includes(':')) return parseV6(addr) ? 'ipv6' : 'invalid';
  if (looksIPv4(addr)) return parseIPv4(addr) ? 'ipv4' : 'invalid';
  if (/^\d+$/.test(addr)) return 'ipv4'; // inet_aton accepts a bare number
  if (/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(addr)) return 'hostname';
  return 'invalid';
}

/** a.b.c.d or a.b.c.d/len with octets ≤ 255 and len ≤ 32, checked without allocating. */
function plainIPv4Cidr(s: string): boolean {
  let octets = 0;
  let val = -1;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      val = (val < 0 ? 0 : val * 10) + (c - 48);
      if (val > 255) return false;
    } else if (c === 46 /* . */ && val >= 0 && octets < 3) {
      octets++;
      val = -1;
    } else break;
  }
  if (octets !== 3 || val < 0) return false;
  if (i === s.length) return true;
  if (s.charCodeAt(i) !== 47 /* / */ || i + 1 === s.length || s.length - i > 3) return false;
  const len = Number(s.slice(i + 1));
  return Number.isInteger(len) && len <= 32;
}

/** A problem with an address for this family, or undefined when it fits. */
export function addressFamilyProblem(item: string, family: Family): string | undefined {
  if (family === 'ipv4' && plainIPv4Cidr(item)) return undefined;
  const kind = addressKind(item);
  if (kind === 'invalid') return `invalid address '${item}'`;
  if (kind === 'ipv6' && family === 'ipv4') {
    return `IPv6 address '${item}' in an IPv4 ruleset (use ip6tables-safe-restore or -6)`;
  }
  if (kind === 'ipv4' && family === 'ipv6') {
    return `IPv4 address '${item}' in an IPv6 ruleset (use iptables-safe-restore or -4)`;
  }
  return undefined;
}

/** Family problem with a NAT `--to-destination`/`--to-source` value such as 1.2.3.4:80 or [fd00::1]:80. */
export function natTargetFamilyProblem(value: string, family: Family): string | undefined {
  const v6 = value.startsWith('[') || (value.match(/:/g)?.length ?? 0) > 1;
  const v4 = /^\d{1,3}(\.\d{1,3}){3}/.test(value);
  if (family === 'ipv4' && v6) return `IPv6 address in '${value}' in an IPv4 ruleset`;
  if (family === 'ipv6' && v4) return `IPv4 address in '${value}' in an IPv6 ruleset`;
  return undefined;
}
