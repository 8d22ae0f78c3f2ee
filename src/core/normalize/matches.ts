// Match extensions the offline normalizer knows, each printing its options as the
// iptables 1.8.9 libxt_* save function does (order, number forms, defaults left out).
// Everything here was checked against iptables-save on both backends; an option not listed
// makes the rule uncertain.
import { canonAddr } from './addr.js';
import { ICMP6_TYPES, ICMP_TYPES } from './tables.js';
import {
  flagList, fmtRange, hex, markMask, neg, noInvert, one, parseDec, parsePortRange, parsePort,
  type Ctx, type Ext, type Opt,
} from './ext.js';
import { Unsure } from './unsure.js';

const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];

function tcpFlags(s: string): number {
  let bits = 0;
  for (const raw of s.split(',')) {
    const up = raw.toUpperCase();
    if (up === 'ALL') bits |= 0x3f;
    else if (up === 'NONE') continue;
    else {
      const i = TCP_FLAGS.indexOf(up);
      if (i < 0) throw new Unsure(`TCP flag '${raw}' not known (iptables rejects it)`);
      bits |= 1 << i;
    }
  }
  return bits;
}

function fmtFlags(bits: number): string {
  if (bits === 0) return 'NONE';
  return TCP_FLAGS.filter((_, i) => bits & (1 << i)).join(',');
}

function ports(out: string[], o: Opt | undefined, name: string, proto: string | undefined, ctx: Ctx): void {
  if (!o) return;
  const [min, max] = parsePortRange(o.vals[0], proto);
  if (min === 0 && max === 65535) {
    if (!o.inv) return;
    ctx.unsure(`'! ${name} 0:65535': iptables-nft drops the whole match, iptables-legacy prints it`);
  }
  neg(o, out);
  out.push(name, fmtRange(min, max));
}

const PORT_OPTS = {
  '--sport': ['sport', 1], '--source-port': ['sport', 1],
  '--dport': ['dport', 1], '--destination-port': ['dport', 1],
} as const;

function requireProto(ctx: Ctx, want: number, name: string): void {
  if (ctx.proto !== want) throw new Unsure(`-m ${name} without -p ${name} (iptables rejects it)`);
}

const tcp: Ext = {
  opts: { ...PORT_OPTS, '--syn': ['flags', 0], '--tcp-flags': ['flags', 2], '--tcp-option': ['option', 1] },
  build(opts, ctx) {
    requireProto(ctx, 6, 'tcp');
    const out: string[] = [];
    ports(out, one(opts, 'sport', 'tcp'), '--sport', 'tcp', ctx);
    ports(out, one(opts, 'dport', 'tcp'), '--dport', 'tcp', ctx);
    const opt = one(opts, 'option', 'tcp');
    if (opt) {
      neg(opt, out);
      out.push('--tcp-option', String(parseDec(opt.vals[0], 255, 'TCP option')));
    }
    const f = one(opts, 'flags', 'tcp');
    if (f) {
      const [mask, cmp] = f.spelling === '--syn' ? [0x17, 0x02] : [tcpFlags(f.vals[0]), tcpFlags(f.vals[1])];
      if (mask === 0 && f.inv) ctx.unsure("'! --tcp-flags NONE …': iptables-nft drops the whole match, iptables-legacy prints it");
      if (mask !== 0 || f.inv) {
        neg(f, out);
        out.push('--tcp-flags', fmtFlags(mask), fmtFlags(cmp));
      }
    }
    return out;
  },
};

function portsOnly(name: string, num: number, services: boolean): Ext {
  return {
    opts: PORT_OPTS,
    build(opts, ctx) {
      requireProto(ctx, num, name);
      const out: string[] = [];
      const proto = services ? name : undefined;
      ports(out, one(opts, 'sport', name), '--sport', proto, ctx);
      ports(out, one(opts, 'dport', name), '--dport', proto, ctx);
      return out;
    },
  };
}

function icmpType(s: string, v6: boolean): [number, number, number] {
  const named = (v6 ? ICMP6_TYPES : ICMP_TYPES).get(s.toLowerCase());
  if (named) return named;
  const m = /^(\d+)(?:\/(\d+))?$/.exec(s);
  if (!m) throw new Unsure(`ICMP${v6 ? 'v6' : ''} type '${s}' not known to the offline normalizer`);
  const type = parseDec(m[1], 255, 'ICMP type');
  if (m[2] === undefined) return [type, 0, 255];
  const code = parseDec(m[2], 255, 'ICMP code');
  return [type, code, code];
}

function icmpExt(v6: boolean): Ext {
  const opt = v6 ? '--icmpv6-type' : '--icmp-type';
  return {
    opts: { [opt]: ['type', 1] },
    build(opts, ctx, name) {
      requireProto(ctx, v6 ? 58 : 1, v6 ? 'icmpv6' : 'icmp');
      const o = one(opts, 'type', name);
      if (!o) return [];
      const [type, min, max] = icmpType(o.vals[0], v6);
      const out: string[] = [];
      neg(o, out);
      let text: string;
      if (!v6 && type === 255 && min === 0 && max === 255) text = 'any';
      else if (min === 0 && max === 255) text = String(type);
      else if (min === max) text = `${type}/${min}`;
      else throw new Unsure(`ICMP code range of '${o.vals[0]}'`);
      out.push(opt, text);
      return out;
    },
  };
}

const MULTIPORT_PROTOS: Record<number, string> = { 6: 'tcp', 17: 'udp', 136: 'udplite', 132: 'sctp', 33: 'dccp' };

const multiport: Ext = {
  opts: {
    '--sports': ['sports', 1], '--source-ports': ['sports', 1],
    '--dports': ['dports', 1], '--destination-ports': ['dports', 1],
    '--ports': ['ports', 1],
  },
  build(opts, ctx) {
    const proto = ctx.proto === undefined ? undefined : MULTIPORT_PROTOS[ctx.proto];
    if (!proto) throw new Unsure('multiport without -p tcp/udp/udplite/sctp/dccp (iptables rejects it)');
    if (opts.length !== 1) throw new Unsure('multiport needs exactly one of --sports, --dports, --ports (iptables rejects others)');
    const o = opts[0];
    const items: string[] = [];
    let count = 0;
    const svc = proto === 'tcp' || proto === 'udp' ? proto : undefined;
    for (const item of o.vals[0].split(',')) {
      const colon = item.indexOf(':');
      if (colon >= 0) {
        const a = parsePort(item.slice(0, colon), svc);
        const b = parsePort(item.slice(colon + 1), svc);
        if (a >= b) throw new Unsure(`invalid port range '${item}' (iptables rejects it)`);
        items.push(`${a}:${b}`);
        count += 2;
      } else {
        items.push(String(parsePort(item, svc)));
        count += 1;
      }
    }
    if (count > 15) throw new Unsure('multiport: more than 15 ports (iptables rejects it)');
    const out: string[] = [];
    neg(o, out);
    out.push(o.key === 'sports' ? '--sports' : o.key === 'dports' ? '--dports' : '--ports', items.join(','));
    return out;
  },
};

const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];
const STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'];
const CT_STATUS = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];

const conntrack: Ext = {
  opts: { '--ctstate': ['ctstate', 1], '--ctstatus': ['ctstatus', 1] },
  build(opts) {
    const out: string[] = [];
    const st = one(opts, 'ctstate', 'conntrack');
    if (st) {
      neg(st, out);
      out.push('--ctstate', flagList(st.vals[0], CT_STATES, 'conntrack state'));
    }
    const status = one(opts, 'ctstatus', 'conntrack');
    if (status) {
      neg(status, out);
      out.push('--ctstatus', flagList(status.vals[0], CT_STATUS, 'conntrack status', 'NONE'));
    }
    return out;
  },
};

const state: Ext = {
  opts: { '--state': ['state', 1] },
  build(opts) {
    const st = one(opts, 'state', 'state');
    if (!st) throw new Unsure('-m state without --state (iptables rejects it)');
    const out: string[] = [];
    neg(st, out);
    out.push('--state', flagList(st.vals[0], STATES, 'state'));
    return out;
  },
};

const comment: Ext = {
  opts: { '--comment': ['comment', 1] },
  build(opts) {
    const c = one(opts, 'comment', 'comment');
    if (!c) return [];
    noInvert(c, 'comment');
    let text = c.vals[0];
    if (Buffer.byteLength(text) > 255) {
      if (/[^\x00-\x7f]/.test(text)) throw new Unsure('comment longer than 255 bytes with non-ASCII text: where iptables cuts it is not modelled');
      text = text.slice(0, 255);
    }
    return ['--comment', text];
  },
};

const ADDR_TYPES = [
  'UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE',
  'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE',
];

const addrtype: Ext = {
  opts: {
    '--src-type': ['src', 1], '--dst-type': ['dst', 1],
    '--limit-iface-in': ['in', 0], '--limit-iface-out': ['out', 0],
  },
  build(opts) {
    const out: string[] = [];
    for (const [key, name] of [['src', '--src-type'], ['dst', '--dst-type']] as const) {
      const o = one(opts, key, 'addrtype');
      if (!o) continue;
      neg(o, out);
      out.push(name, flagList(o.vals[0], ADDR_TYPES, 'address type'));
    }
    for (const [key, name] of [['in', '--limit-iface-in'], ['out', '--limit-iface-out']] as const) {
      const o = one(opts, key, 'addrtype');
      if (!o) continue;
      noInvert(o, 'addrtype');
      out.push(name);
    }
    return out;
  },
};

const set: Ext = {
  opts: {
    '--match-set': ['set', 2], '--set': ['set', 2], '--return-nomatch': ['nomatch', 0],
    '--update-counters': ['counters', 0],
  },
  build(opts) {
    const s = one(opts, 'set', 'set');
    if (!s) throw new Unsure('-m set without --match-set (iptables rejects it)');
    const flags = s.vals[1].split(',');
    if (flags.length > 6 || !flags.every((f) => f === 'src' || f === 'dst')) {
      throw new Unsure(`set flags '${s.vals[1]}' not known to the offline normalizer`);
    }
    const out: string[] = [];
    neg(s, out);
    out.push('--match-set', s.vals[0], flags.join(','));
    const nm = one(opts, 'nomatch', 'set');
    if (nm) {
      noInvert(nm, 'set');
      out.push('--return-nomatch');
    }
    const uc = one(opts, 'counters', 'set');
    if (uc) {
      if (!uc.inv) throw new Unsure("set: '--update-counters' without '!' not known to the offline normalizer");
      out.push('!', '--update-counters');
    }
    return out;
  },
};

function markExt(name: string): Ext {
  return {
    opts: { '--mark': ['mark', 1] },
    build(opts) {
      const o = one(opts, 'mark', name);
      if (!o) throw new Unsure(`-m ${name} without --mark (iptables rejects it)`);
      const [v, m] = markMask(o.vals[0], 'mark');
      const out: string[] = [];
      neg(o, out);
      out.push('--mark', m === 0xffffffff ? hex(v) : `${hex(v)}/${hex(m)}`);
      return out;
    },
  };
}

// xt_limit: XT_LIMIT_SCALE 10000; period = scale * unit / rate, printed with the largest unit
// that divides evenly enough (libxt_limit print_rate).
const LIMIT_SCALE = 10000;
const RATES: ReadonlyArray<[string, number]> = [
  ['day', LIMIT_SCALE * 86400], ['hour', LIMIT_SCALE * 3600], ['min', LIMIT_SCALE * 60], ['sec', LIMIT_SCALE],
];

function parseRate(s: string): number {
  const slash = s.indexOf('/');
  let mult = 1;
  let num = s;
  if (slash >= 0) {
    const unit = s.slice(slash + 1).toLowerCase();
    num = s.slice(0, slash);
    if (unit === '') throw new Unsure(`limit rate '${s}' (iptables rejects it)`);
    if ('second'.startsWith(unit)) mult = 1;
    else if ('minute'.startsWith(unit)) mult = 60;
    else if ('hour'.startsWith(unit)) mult = 3600;
    else if ('day'.startsWith(unit)) mult = 86400;
    else throw new Unsure(`limit rate unit in '${s}' (iptables rejects it)`);
  }
  if (!/^[1-9]\d*$/.test(num)) throw new Unsure(`limit rate '${s}' not understood by the offline normalizer`);
  const period = Math.floor((LIMIT_SCALE * mult) / Number(num));
  if (period === 0) throw new Unsure(`limit rate '${s}' too fast (iptables rejects it)`);
  return period;
}

function fmtRate(period: number): string {
  let i = 1;
  for (; i < RATES.length; i++) {
    const mult = RATES[i][1];
    if (period > mult || Math.floor(mult / period) < mult % period) break;
  }
  return `${Math.floor(RATES[i - 1][1] / period)}/${RATES[i - 1][0]}`;
}

const limit: Ext = {
  opts: { '--limit': ['limit', 1], '--limit-burst': ['burst', 1] },
  build(opts, ctx) {
    const l = one(opts, 'limit', 'limit');
    const b = one(opts, 'burst', 'limit');
    if (l) noInvert(l, 'limit');
    if (b) noInvert(b, 'limit');
    const period = l ? parseRate(l.vals[0]) : Math.floor((LIMIT_SCALE * 3600) / 3);
    const burst = b ? parseDec(b.vals[0], 10000, 'limit burst') : 5;
    if (period * burst > 0xffffffff) {
      ctx.unsure(`limit ${fmtRate(period)} with burst ${burst}: iptables-legacy's kernel check rejects it (overflow), iptables-nft accepts it`);
    }
    const out = ['--limit', fmtRate(period)];
    if (burst !== 5) out.push('--limit-burst', String(burst));
    return out;
  },
};

const iprange: Ext = {
  opts: { '--src-range': ['src', 1], '--dst-range': ['dst', 1] },
  build(opts, ctx) {
    const out: string[] = [];
    const v6 = ctx.family === 'ipv6';
    for (const [key, name] of [['src', '--src-range'], ['dst', '--dst-range']] as const) {
      const o = one(opts, key, 'iprange');
      if (!o) continue;
      const parts = o.vals[0].split('-');
      if (parts.length > 2) throw new Unsure(`iprange '${o.vals[0]}' not understood`);
      const a = canonAddr(parts[0], v6);
      const b = canonAddr(parts[1] ?? parts[0], v6);
      neg(o, out);
      out.push(name, `${a}-${b}`);
    }
    return out;
  },
};

const mac: Ext = {
  opts: { '--mac-source': ['mac', 1] },
  build(opts) {
    const o = one(opts, 'mac', 'mac');
    if (!o) throw new Unsure('-m mac without --mac-source (iptables rejects it)');
    const parts = o.vals[0].split(':');
    if (parts.length !== 6 || !parts.every((p) => /^[0-9A-Fa-f]{1,2}$/.test(p))) {
      throw new Unsure(`MAC address '${o.vals[0]}' not understood (iptables rejects it)`);
    }
    const out: string[] = [];
    neg(o, out);
    out.push('--mac-source', parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':'));
    return out;
  },
};

const PKT_TYPES: Record<string, string> = {
  unicast: 'unicast', host: 'unicast', broadcast: 'broadcast', multicast: 'multicast', otherhost: 'otherhost',
};

const pkttype: Ext = {
  opts: { '--pkt-type': ['type', 1] },
  build(opts) {
    const o = one(opts, 'type', 'pkttype');
    if (!o) throw new Unsure('-m pkttype without --pkt-type (iptables rejects it)');
    const t = PKT_TYPES[o.vals[0].toLowerCase()];
    if (!t) throw new Unsure(`packet type '${o.vals[0]}' not known to the offline normalizer`);
    const out: string[] = [];
    neg(o, out);
    out.push('--pkt-type', t);
    return out;
  },
};

function idRange(s: string, what: string): string {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Unsure(`${what} '${s}' is a name: iptables looks it up in the host's user database at load time`);
  const a = parseDec(m[1], 0xfffffffe, what);
  const b = m[2] === undefined ? a : parseDec(m[2], 0xfffffffe, what);
  if (a > b) throw new Unsure(`${what} range '${s}' (min > max)`);
  return fmtRange(a, b, '-');
}

const owner: Ext = {
  opts: { '--uid-owner': ['uid', 1], '--gid-owner': ['gid', 1], '--socket-exists': ['sock', 0] },
  build(opts) {
    const out: string[] = [];
    const sock = one(opts, 'sock', 'owner');
    if (sock) {
      neg(sock, out);
      out.push('--socket-exists');
    }
    for (const [key, name] of [['uid', '--uid-owner'], ['gid', '--gid-owner']] as const) {
      const o = one(opts, key, 'owner');
      if (!o) continue;
      const v = idRange(o.vals[0], key === 'uid' ? 'user' : 'group');
      neg(o, out);
      out.push(name, v);
    }
    if (out.length === 0) throw new Unsure('-m owner without options (iptables rejects it)');
    return out;
  },
};

const physdev: Ext = {
  opts: {
    '--physdev-in': ['in', 1], '--physdev-out': ['out', 1], '--physdev-is-in': ['isin', 0],
    '--physdev-is-out': ['isout', 0], '--physdev-is-bridged': ['bridged', 0],
  },
  build(opts) {
    const out: string[] = [];
    for (const [key, name] of [
      ['isin', '--physdev-is-in'], ['in', '--physdev-in'], ['isout', '--physdev-is-out'],
      ['out', '--physdev-out'], ['bridged', '--physdev-is-bridged'],
    ] as const) {
      const o = one(opts, key, 'physdev');
      if (!o) continue;
      neg(o, out);
      out.push(name, ...o.vals);
    }
    if (out.length === 0) throw new Unsure('-m physdev without options (iptables rejects it)');
    return out;
  },
};

const length: Ext = {
  opts: { '--length': ['length', 1] },
  build(opts) {
    const o = one(opts, 'length', 'length');
    if (!o) throw new Unsure('-m length without --length (iptables rejects it)');
    const s = o.vals[0];
    const colon = s.indexOf(':');
    const a = colon < 0 ? s : s.slice(0, colon);
    const b = colon < 0 ? s : s.slice(colon + 1);
    const min = a === '' ? 0 : parseDec(a, 65535, 'length');
    const max = b === '' ? 65535 : parseDec(b, 65535, 'length');
    if (min > max) throw new Unsure(`length range '${s}' (min > max)`);
    const out: string[] = [];
    neg(o, out);
    out.push('--length', fmtRange(min, max));
    return out;
  },
};

export const MATCHES: Readonly<Record<string, Ext>> = {
  tcp,
  udp: portsOnly('udp', 17, true),
  sctp: portsOnly('sctp', 132, false),
  dccp: portsOnly('dccp', 33, false),
  icmp: icmpExt(false),
  icmp6: icmpExt(true),
  multiport,
  conntrack,
  state,
  comment,
  addrtype,
  set,
  mark: markExt('mark'),
  connmark: markExt('connmark'),
  limit,
  iprange,
  mac,
  pkttype,
  owner,
  physdev,
  length,
};

/** Matches iptables loads by itself for `-p PROTO` followed by that protocol's options. */
export function implicitMatch(proto: number | undefined, family: 'ipv4' | 'ipv6'): string | undefined {
  switch (proto) {
    case 6: return 'tcp';
    case 17: return 'udp';
    case 132: return 'sctp';
    case 33: return 'dccp';
    case 1: return family === 'ipv4' ? 'icmp' : undefined;
    case 58: return family === 'ipv6' ? 'icmp6' : undefined;
    default: return undefined;
  }
}
