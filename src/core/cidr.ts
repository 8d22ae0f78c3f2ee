// IPv4/IPv6 prefixes as bigints, to ask "is this container address inside that Docker subnet?".
import { parseV4, parseV6 } from './normalize/addr.js';

export interface Prefix {
  v6: boolean;
  base: bigint;
  bits: number;
  text: string;
}

function toBig(addr: string): { v6: boolean; n: bigint } | undefined {
  const v4 = parseV4(addr);
  if (v4 !== undefined) return { v6: false, n: BigInt(v4 >>> 0) };
  const v6 = parseV6(addr);
  if (v6) return { v6: true, n: v6.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) };
  return undefined;
}

export function parsePrefix(text: string): Prefix | undefined {
  const [addr, len] = text.split('/');
  const a = toBig(addr);
  if (!a) return undefined;
  const width = a.v6 ? 128 : 32;
  const bits = len === undefined ? width : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return undefined;
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { v6: a.v6, base: a.n & mask, bits, text };
}

export function prefixContains(p: Prefix, addr: string): boolean {
  const a = toBig(addr.split('/')[0]);
  if (!a || a.v6 !== p.v6) return false;
  const width = p.v6 ? 128 : 32;
  if (p.bits === 0) return true;
  const mask = ((1n << BigInt(p.bits)) - 1n) << BigInt(width - p.bits);
  return (a.n & mask) === p.base;
}
