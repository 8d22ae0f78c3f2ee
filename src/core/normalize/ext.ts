// The shape of a match or target extension as the offline normalizer models it, and the
// value parsers they share. An extension lists the option spellings it owns (so that an
// option is given to the right extension, as iptables' getopt dispatch does) and turns the
// options it was given into the words iptables-save prints, in iptables-save's order.
import type { Family } from '../model.js';
import { SERVICES } from './tables.js';
import { Unsure } from './unsure.js';

export interface Opt {
  /** Canonical key of the option (several spellings may share one). */
  key: string;
  /** The spelling used, for best-effort output and messages. */
  spelling: string;
  inv: boolean;
  vals: string[];
}

export interface Ctx {
  family: Family;
  /** Protocol number of a non-inverted `-p`, else undefined. */
  proto: number | undefined;
  /** Canonical name of that protocol (tcp, udp, …). */
  protoName: string | undefined;
  /** Record a reason for uncertainty without giving up on the output. */
  unsure(reason: string): void;
}

export interface Ext {
  /** spelling → [key, number of values] */
  opts: Readonly<Record<string, readonly [string, number]>>;
  build(opts: Opt[], ctx: Ctx, name: string): string[];
}

/** The one option with this key, or undefined; two of them → Unsure. */
export function one(opts: Opt[], key: string, ext: string): Opt | undefined {
  let found: Opt | undefined;
  for (const o of opts) {
    if (o.key !== key) continue;
    if (found) throw new Unsure(`${ext}: option '${o.spelling}' given twice (iptables rejects it)`);
    found = o;
  }
  return found;
}

export function neg(o: Opt, out: string[]): void {
  if (o.inv) out.push('!');
}

export function noInvert(o: Opt, ext: string): void {
  if (o.inv) throw new Unsure(`${ext}: '! ${o.spelling}' not known to the offline normalizer`);
}

const DEC = /^(?:0|[1-9]\d*)$/;

/** xtables_strtoui with base 0: decimal, 0x hex, leading-0 octal. */
export function parseU32(s: string, what: string): number {
  let n: number;
  if (DEC.test(s)) n = Number(s);
  else if (/^0[xX][0-9a-fA-F]+$/.test(s)) n = parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) n = parseInt(s.slice(1), 8);
  else throw new Unsure(`${what} '${s}' is not a number the offline normalizer reads`);
  if (n > 0xffffffff) throw new Unsure(`${what} '${s}' is out of range`);
  return n;
}

export function parseDec(s: string, max: number, what: string): number {
  if (!DEC.test(s) || Number(s) > max) throw new Unsure(`${what} '${s}' is not a number from 0 to ${max}`);
  return Number(s);
}

export function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

/** value[/mask] → [value, mask]; the mask defaults to 0xffffffff. */
export function markMask(s: string, what: string): [number, number] {
  const slash = s.indexOf('/');
  if (slash < 0) return [parseU32(s, what), 0xffffffff];
  return [parseU32(s.slice(0, slash), what), parseU32(s.slice(slash + 1), what)];
}

/** One port: a number, or a service name of /etc/services for tcp and udp. */
export function parsePort(s: string, proto: string | undefined): number {
  if (DEC.test(s)) {
    const n = Number(s);
    if (n > 65535) throw new Unsure(`port '${s}' out of range`);
    return n;
  }
  const table = proto ? SERVICES[proto] : undefined;
  const n = table?.get(s);
  if (n === undefined) {
    throw new Unsure(`service name '${s}'${proto ? `/${proto}` : ''} is not in the offline normalizer's /etc/services table`);
  }
  return n;
}

/** `a`, `a:b`, `:b`, `a:` → [min, max]. */
export function parsePortRange(s: string, proto: string | undefined): [number, number] {
  const colon = s.indexOf(':');
  if (colon < 0) {
    const p = parsePort(s, proto);
    return [p, p];
  }
  const a = s.slice(0, colon);
  const b = s.slice(colon + 1);
  const min = a === '' ? 0 : parsePort(a, proto);
  const max = b === '' ? 65535 : parsePort(b, proto);
  if (min > max) throw new Unsure(`invalid port range '${s}' (min > max; iptables rejects it)`);
  return [min, max];
}

export function fmtRange(min: number, max: number, sep = ':'): string {
  return min === max ? String(min) : `${min}${sep}${max}`;
}

/** A comma list of names from `order` (case-insensitive), printed in `order`'s order. */
const flagMemo = new Map<string, string>();

export function flagList(s: string, order: readonly string[], what: string, none?: string): string {
  const key = what + '\u0000' + s;
  const hit = flagMemo.get(key);
  if (hit !== undefined) return hit;
  const res = flagListUncached(s, order, what, none);
  if (flagMemo.size < 10_000) flagMemo.set(key, res);
  return res;
}

function flagListUncached(s: string, order: readonly string[], what: string, none?: string): string {
  let bits = 0;
  for (const raw of s.split(',')) {
    const up = raw.toUpperCase();
    const i = order.indexOf(up);
    if (i < 0) {
      if (none !== undefined && up === none) continue;
      throw new Unsure(`${what} '${raw}' not known to the offline normalizer`);
    }
    bits |= 1 << i;
  }
  if (bits === 0) {
    if (none !== undefined) return none;
    throw new Unsure(`empty ${what} list`);
  }
  return order.filter((_, i) => bits & (1 << i)).join(',');
}
