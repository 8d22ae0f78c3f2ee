// Target extensions the offline normalizer knows, printed as the iptables 1.8.9 libxt_*
// save functions print them. Unknown options make the rule uncertain.
import { canonAddr } from './addr.js';
import { LOG_LEVELS, REJECT_WITH } from './tables.js';
import { fmtRange, hex, markMask, noInvert, one, parseDec, parseU32, type Ext, type Opt } from './ext.js';
import { Unsure } from './unsure.js';

function noInverts(opts: Opt[], name: string): void {
  for (const o of opts) noInvert(o, name);
}

function only(opts: Opt[], keys: readonly string[], name: string): void {
  for (const o of opts) if (!keys.includes(o.key)) throw new Unsure(`${name}: '${o.spelling}' not known to the offline normalizer here`);
}

const none: Ext = {
  opts: {},
  build() {
    return [];
  },
};

const reject: Ext = {
  opts: { '--reject-with': ['with', 1] },
  build(opts, ctx) {
    noInverts(opts, 'REJECT');
    const o = one(opts, 'with', 'REJECT');
    const table = REJECT_WITH[ctx.family];
    if (!o) return ['--reject-with', ctx.family === 'ipv4' ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'];
    const name = table.get(o.vals[0].toLowerCase());
    if (!name) throw new Unsure(`REJECT --reject-with '${o.vals[0]}' not known to the offline normalizer`);
    return ['--reject-with', name];
  },
};

const log: Ext = {
  opts: {
    '--log-level': ['level', 1], '--log-prefix': ['prefix', 1], '--log-tcp-sequence': ['seq', 0],
    '--log-tcp-options': ['tcpopt', 0], '--log-ip-options': ['ipopt', 0], '--log-uid': ['uid', 0],
    '--log-macdecode': ['mac', 0],
  },
  build(opts) {
    noInverts(opts, 'LOG');
    const out: string[] = [];
    const prefix = one(opts, 'prefix', 'LOG');
    if (prefix) {
      const p = prefix.vals[0];
      if (p.length > 29 || /[^\x20-\x7e]/.test(p)) throw new Unsure('LOG prefix longer than 29 characters or not printable ASCII (iptables rejects or cuts it)');
      out.push('--log-prefix', p);
    }
    const level = one(opts, 'level', 'LOG');
    if (level) {
      const v = level.vals[0];
      const n = /^\d+$/.test(v) ? parseDec(v, 7, 'log level') : LOG_LEVELS.get(v);
      if (n === undefined) throw new Unsure(`log level '${v}' not known (iptables rejects it)`);
      if (n !== 4) out.push('--log-level', String(n));
    }
    for (const [key, name] of [
      ['seq', '--log-tcp-sequence'], ['tcpopt', '--log-tcp-options'], ['ipopt', '--log-ip-options'],
      ['uid', '--log-uid'], ['mac', '--log-macdecode'],
    ] as const) {
      if (one(opts, key, 'LOG')) out.push(name);
    }
    return out;
  },
};

/** `P` or `P-Q` (MASQUERADE/REDIRECT --to-ports) → printed form. */
function portSpan(s: string): string {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Unsure(`port range '${s}' not understood by the offline normalizer`);
  const a = parseDec(m[1], 65535, 'port');
  const b = m[2] === undefined ? a : parseDec(m[2], 65535, 'port');
  if (a > b) throw new Unsure(`port range '${s}' (min > max)`);
  return fmtRange(a, b, '-');
}

function toPorts(name: string): Ext {
  return {
    opts: { '--to-ports': ['ports', 1], '--to-port': ['ports', 1], '--random': ['random', 0], '--random-fully': ['fully', 0] },
    build(opts, ctx) {
      noInverts(opts, name);
      const out: string[] = [];
      const p = one(opts, 'ports', name);
      if (p) {
        if (![6, 17, 132, 33].includes(ctx.proto ?? -1)) throw new Unsure(`${name} --to-ports without -p tcp/udp/sctp/dccp (iptables rejects it)`);
        out.push('--to-ports', portSpan(p.vals[0]));
      }
      if (one(opts, 'random', name)) out.push('--random');
      if (one(opts, 'fully', name)) out.push('--random-fully');
      return out;
    },
  };
}

/** SNAT/DNAT --to: addr[-addr][:port[-port]] (IPv6 addresses in brackets when a port follows). */
function natRange(s: string, v6: boolean, needPortProto: boolean): string {
  let addrPart = s;
  let portPart: string | undefined;
  if (v6) {
    if (s.startsWith('[')) {
      const close = s.indexOf(']');
      if (close < 0) throw new Unsure(`NAT address '${s}' not understood`);
      addrPart = s.slice(1, close);
      const rest = s.slice(close + 1);
      if (rest !== '') {
        if (!rest.startsWith(':')) throw new Unsure(`NAT address '${s}' not understood`);
        portPart = rest.slice(1);
      }
    }
  } else {
    const colon = s.indexOf(':');
    if (colon >= 0) {
      addrPart = s.slice(0, colon);
      portPart = s.slice(colon + 1);
    }
  }
  let addrs = '';
  if (addrPart !== '') {
    const dash = v6 ? addrPart.indexOf('-') : addrPart.indexOf('-');
    const a = canonAddr(dash < 0 ? addrPart : addrPart.slice(0, dash), v6);
    const b = dash < 0 ? a : canonAddr(addrPart.slice(dash + 1), v6);
    addrs = a === b ? a : `${a}-${b}`;
  }
  if (portPart === undefined) return addrs;
  if (needPortProto) throw new Unsure('NAT port without -p tcp/udp/sctp/dccp (iptables rejects it)');
  const m = /^(\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(portPart);
  if (!m) throw new Unsure(`NAT ports '${portPart}' not understood by the offline normalizer`);
  const p1 = parseDec(m[1], 65535, 'port');
  const p2 = m[2] === undefined ? p1 : parseDec(m[2], 65535, 'port');
  if (p1 > p2) throw new Unsure(`NAT port range '${portPart}' (min > max)`);
  if (m[3] !== undefined) {
    if (p1 === p2) throw new Unsure(`NAT port shift on a single port '${portPart}'`);
    return `${v6 ? `[${addrs}]` : addrs}:${p1}-${p2}/${parseDec(m[3], 65535, 'port')}`;
  }
  const ports = p1 === p2 ? String(p1) : `${p1}-${p2}`;
  return `${v6 ? `[${addrs}]` : addrs}:${ports}`;
}

function nat(name: 'SNAT' | 'DNAT'): Ext {
  const to = name === 'SNAT' ? '--to-source' : '--to-destination';
  return {
    opts: { [to]: ['to', 1], '--to': ['to', 1], '--random': ['random', 0], '--persistent': ['persistent', 0], '--random-fully': ['fully', 0] },
    build(opts, ctx) {
      noInverts(opts, name);
      const t = one(opts, 'to', name);
      if (!t) throw new Unsure(`${name} without ${to} (iptables rejects it)`);
      const needProto = ![6, 17, 132, 33].includes(ctx.proto ?? -1);
      const out = [to, natRange(t.vals[0], ctx.family === 'ipv6', needProto)];
      if (one(opts, 'random', name)) out.push('--random');
      if (one(opts, 'fully', name)) out.push('--random-fully');
      if (one(opts, 'persistent', name)) out.push('--persistent');
      return out;
    },
  };
}

/** MARK and CONNMARK value-setting options → --set-xmark value/mask. */
function xmark(o: Opt, what: string): string {
  switch (o.key) {
    case 'set-xmark': {
      const [v, m] = markMask(o.vals[0], what);
      return `${hex(v)}/${hex(m)}`;
    }
    case 'set-mark': {
      const [v, m] = markMask(o.vals[0], what);
      return `${hex(v)}/${hex(m === 0xffffffff ? 0xffffffff : m)}`;
    }
    case 'and-mark': {
      const v = parseU32(o.vals[0], what);
      return `0x0/${hex(~v >>> 0)}`;
    }
    case 'or-mark': {
      const v = parseU32(o.vals[0], what);
      return `${hex(v)}/${hex(v)}`;
    }
    case 'xor-mark': {
      const v = parseU32(o.vals[0], what);
      return `${hex(v)}/0x0`;
    }
  }
  throw new Unsure(`${what}: '${o.spelling}'`);
}

const SETTERS = {
  '--set-xmark': ['set-xmark', 1], '--set-mark': ['set-mark', 1], '--and-mark': ['and-mark', 1],
  '--or-mark': ['or-mark', 1], '--xor-mark': ['xor-mark', 1],
} as const;

const mark: Ext = {
  opts: SETTERS,
  build(opts) {
    noInverts(opts, 'MARK');
    if (opts.length !== 1) throw new Unsure('MARK needs exactly one of --set-xmark/--set-mark/--and-mark/--or-mark/--xor-mark');
    return ['--set-xmark', xmark(opts[0], 'MARK')];
  },
};

const connmark: Ext = {
  opts: {
    ...SETTERS, '--save-mark': ['save', 0], '--restore-mark': ['restore', 0], '--mask': ['mask', 1],
    '--nfmask': ['nfmask', 1], '--ctmask': ['ctmask', 1],
  },
  build(opts) {
    noInverts(opts, 'CONNMARK');
    const main = opts.filter((o) => !['mask', 'nfmask', 'ctmask'].includes(o.key));
    if (main.length !== 1) throw new Unsure('CONNMARK needs exactly one action');
    const act = main[0];
    const masks = opts.filter((o) => o !== act);
    if (act.key === 'save' || act.key === 'restore') {
      let nf = 0xffffffff;
      let ct = 0xffffffff;
      for (const m of masks) {
        const v = parseU32(m.vals[0], 'CONNMARK mask');
        if (m.key === 'mask' || m.key === 'nfmask') nf = v;
        if (m.key === 'mask' || m.key === 'ctmask') ct = v;
      }
      if (masks.filter((m) => m.key === 'mask').length && masks.length > 1) {
        throw new Unsure('CONNMARK --mask together with --nfmask/--ctmask not modelled');
      }
      return [act.key === 'save' ? '--save-mark' : '--restore-mark', '--nfmask', hex(nf), '--ctmask', hex(ct)];
    }
    if (masks.length) throw new Unsure('CONNMARK masks with a set action not modelled');
    return ['--set-xmark', xmark(act, 'CONNMARK')];
  },
};

const ct: Ext = {
  opts: { '--notrack': ['notrack', 0], '--helper': ['helper', 1], '--zone': ['zone', 1] },
  build(opts) {
    noInverts(opts, 'CT');
    if (opts.length !== 1) throw new Unsure('CT with several options not modelled by the offline normalizer');
    const o = opts[0];
    if (o.key === 'notrack') return ['--notrack'];
    if (o.key === 'helper') return ['--helper', o.vals[0]];
    return ['--zone', String(parseDec(o.vals[0], 65535, 'zone'))];
  },
};

const tcpmss: Ext = {
  opts: { '--clamp-mss-to-pmtu': ['clamp', 0], '--set-mss': ['mss', 1] },
  build(opts) {
    noInverts(opts, 'TCPMSS');
    if (opts.length !== 1) throw new Unsure('TCPMSS needs exactly one of --clamp-mss-to-pmtu, --set-mss');
    const o = opts[0];
    if (o.key === 'clamp') return ['--clamp-mss-to-pmtu'];
    return ['--set-mss', String(parseDec(o.vals[0], 65535, 'MSS'))];
  },
};

const checksum: Ext = {
  opts: { '--checksum-fill': ['fill', 0] },
  build(opts) {
    noInverts(opts, 'CHECKSUM');
    only(opts, ['fill'], 'CHECKSUM');
    if (!one(opts, 'fill', 'CHECKSUM')) throw new Unsure('CHECKSUM without --checksum-fill (iptables rejects it)');
    return ['--checksum-fill'];
  },
};

export const TARGETS: Readonly<Record<string, Ext>> = {
  ACCEPT: none,
  DROP: none,
  RETURN: none,
  QUEUE: none,
  NOTRACK: none,
  TRACE: none,
  REJECT: reject,
  LOG: log,
  MASQUERADE: toPorts('MASQUERADE'),
  REDIRECT: toPorts('REDIRECT'),
  SNAT: nat('SNAT'),
  DNAT: nat('DNAT'),
  MARK: mark,
  CONNMARK: connmark,
  CT: ct,
  TCPMSS: tcpmss,
  CHECKSUM: checksum,
};
