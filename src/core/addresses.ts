// Address helpers shared by the parser's family checks and the lexical normalizer.
// Pure string work: no resolver, no sockets.
import type { Family } from './model.js';

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

/** Parse an IPv6 address into 8 groups; undefined when it is not one. */
export function parseIPv6(s: string): number[] | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(':')) return undefined;
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    // Embedded IPv4 (::ffff:1.2.3.4): rewrite it as two hex groups.
    const v4 = parseIPv4(last);
    if (!v4) return undefined;
    const hi = ((v4[0] << 8) | v4[1]).toString(16);
    const lo = ((v4[2] << 8) | v4[3]).toString(16);
    return parseIPv6(`${s.slice(0, lastColon + 1)}${hi}:${lo}`);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const grp = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = grp(halves[0]);
  const rest = halves.length === 2 ? grp(halves[1]) : [];
  if (!head || !rest) return undefined;
  const total = head.length + rest.length;
  if (halves.length === 1) return total === 8 ? head : undefined;
  if (total > 7) return undefined;
  return [...head, ...new Array<number>(8 - total).fill(0), ...rest];
}

/** RFC 5952 text of 8 groups, as inet_ntop prints it (IPv4-mapped/compatible forms aside). */
export function formatIPv6(g: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

export type AddressKind = 'ipv4' | 'ipv6' | 'hostname' | 'invalid';

/** What one `-s`/`-d` list item is (mask included). */
export function addressKind(item: string): AddressKind {
  const slash = item.indexOf('/');
  const addr = slash >= 0 ? item.slice(0, slash) : item;
  if (addr.includes(':')) return parseIPv6(addr) ? 'ipv6' : 'invalid';
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
