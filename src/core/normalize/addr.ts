// Addresses as iptables prints them: the network address (host bits cleared), then a prefix
// length, or the mask written out when it is not contiguous; IPv6 as glibc's inet_ntop
// writes it (RFC 5952, with the ::ffff:a.b.c.d and ::a.b.c.d forms).
import { Unsure } from './unsure.js';

/** Strict dotted quad (no leading zeros: iptables reads 010 as octal, so those are not ours to guess). */
const V4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function parseV4(s: string): number | undefined {
  // Hand-rolled equivalent of the V4 pattern (hot path: every -s/-d of every rule).
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return n * 256 + part;
}

export const V4_PATTERN = V4;

export function formatV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function prefixLenV4(mask: number): number {
  // contiguous: ~mask + 1 is a power of two
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  let len = 32;
  for (let x = inv; x; x >>>= 1) len--;
  return len;
}

function hostProblem(item: string): Unsure {
  if (/^[0-9.]+$/.test(item)) {
    return new Unsure(`address '${item}' is not a plain dotted quad: iptables reads it with inet_aton rules (octal, short forms)`);
  }
  return new Unsure(`host name '${item}' is resolved by iptables at load time`);
}

/** `-s`/`-d` item → printed form, or null when the mask is 0 (iptables prints nothing). */
export function canonV4Net(item: string): string | null {
  const slash = item.indexOf('/');
  const a = slash < 0 ? item : item.slice(0, slash);
  const addr = parseV4(a);
  if (addr === undefined) throw hostProblem(a);
  let mask = 0xffffffff;
  if (slash >= 0) {
    const m = item.slice(slash + 1);
    if (/^(?:\d|[12]\d|3[0-2])$/.test(m)) {
      const len = +m;
      mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    } else {
      const mm = parseV4(m);
      if (mm === undefined) throw new Unsure(`mask '${m}' not understood by the offline normalizer`);
      mask = mm;
    }
  }
  if (mask === 0) return null;
  const net = (addr & mask) >>> 0;
  const len = prefixLenV4(mask);
  return `${formatV4(net)}/${len >= 0 ? len : formatV4(mask)}`;
}

/** Eight 16-bit groups, or undefined. */
export function parseV6(s: string): number[] | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.indexOf(':') < 0) return undefined;
  let tail: number[] = [];
  let str = s;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >>> 16, v4 & 0xffff];
    str = s.slice(0, lastColon + 1);
    if (!str.endsWith('::')) str = str.slice(0, -1); // keep a "::" right before the IPv4 part
  }
  const halves = str.split('::');
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
  const total = head.length + rest.length + tail.length;
  if (halves.length === 1) return total === 8 ? [...head, ...tail] : undefined;
  if (total > 7) return undefined;
  return [...head, ...new Array<number>(8 - total).fill(0), ...rest, ...tail];
}

/** glibc inet_ntop(AF_INET6). */
export function formatV6(g: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestStart >= 0 && i >= bestStart && i < bestStart + bestLen) {
      if (i === bestStart) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestStart === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      out += `${g[6] >>> 8}.${g[6] & 255}.${g[7] >>> 8}.${g[7] & 255}`;
      return out;
    }
    out += g[i].toString(16);
  }
  if (bestStart >= 0 && bestStart + bestLen === 8) out += ':';
  return out;
}

function prefixLenV6(mask: readonly number[]): number {
  let len = 0;
  let i = 0;
  for (; i < 8 && mask[i] === 0xffff; i++) len += 16;
  if (i === 8) return 128;
  const inv = ~mask[i] & 0xffff;
  if ((inv & (inv + 1)) !== 0) return -1;
  for (let b = 0x8000; b && mask[i] & b; b >>= 1) len++;
  for (i++; i < 8; i++) if (mask[i] !== 0) return -1;
  return len;
}

/** `-s`/`-d` item for IPv6 → printed form, or null when the mask is 0. */
export function canonV6Net(item: string): string | null {
  const slash = item.indexOf('/');
  const a = slash < 0 ? item : item.slice(0, slash);
  const addr = parseV6(a);
  if (!addr) {
    if (a.includes(':')) throw new Unsure(`address '${a}' not understood by the offline normalizer`);
    throw new Unsure(`host name '${a}' is resolved by iptables at load time`);
  }
  let mask = [0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff];
  if (slash >= 0) {
    const m = item.slice(slash + 1);
    if (/^(?:\d|[1-9]\d|1[01]\d|12[0-8])$/.test(m)) {
      let len = +m;
      mask = mask.map(() => {
        const bits = Math.min(16, Math.max(0, len));
        len -= 16;
        return bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
      });
    } else {
      const mm = parseV6(m);
      if (!mm) throw new Unsure(`mask '${m}' not understood by the offline normalizer`);
      mask = mm;
    }
  }
  if (mask.every((x) => x === 0)) return null;
  const net = addr.map((x, i) => x & mask[i]);
  const len = prefixLenV6(mask);
  return `${formatV6(net)}/${len >= 0 ? len : formatV6(mask)}`;
}

/** A single address (no mask) for this family, canonical; throws Unsure when not a literal. */
export function canonAddr(a: string, v6: boolean): string {
  if (v6) {
    const g = parseV6(a);
    if (!g) throw new Unsure(`address '${a}' not understood by the offline normalizer`);
    return formatV6(g);
  }
  const n = parseV4(a);
  if (n === undefined) throw hostProblem(a);
  return formatV4(n);
}
