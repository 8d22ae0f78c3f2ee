// Lexical normalization: the form iptables-save would print a rule in, computed without the
// kernel (offline preview, `plan` without root, `-D` by specification).
//
// Two rules are "the same" when iptables prints them the same. This module predicts that
// print from the rule's arguments alone, following iptables 1.8.9's own parsing (which
// extension an option belongs to, the implicit `-m tcp` loaded for `-p tcp --dport`, `-s a,b`
// expanded into one rule per address) and the extensions' save functions (order, number
// forms, defaults left out). Every form here was checked against iptables-save on both the nft
// and the legacy backend (test/integration/normalize-vs-kernel.test.ts). Where the
// normalizer cannot be sure — an extension or option it does not model, a host or user
// name that iptables resolves at load time, a rule the two backends print differently — it
// says so (`certain: false` and a reason) instead of guessing.
//
// Pure: no files, no processes, no resolver. Protocol and service names come from embedded
// copies of Debian's /etc/protocols and /etc/services (normalize/tables.ts).
import type { Family, Rule, Ruleset } from './model.js';
import { isKnownTarget } from './targets.js';
import { quoteArg } from './tokenize.js';
import { coreOption } from './validate.js';
import { canonV4Net, canonV6Net } from './normalize/addr.js';
import type { Ctx, Ext, Opt } from './normalize/ext.js';
import { MATCHES, implicitMatch } from './normalize/matches.js';
import { PROTO_BY_NAME, PROTO_NAME } from './normalize/tables.js';
import { TARGETS } from './normalize/targets.js';
import { Unsure } from './normalize/unsure.js';

export type Normalized = { certain: boolean; reason?: string; rules: string[][] };

/** Options whose value iptables-save prints with xtables_save_string (quoted unless a plain word). */
const STRING_OPTIONS = new Set(['--comment', '--log-prefix']);

/** Canonical args → the text iptables-save prints after `-A CHAIN `. */
export function formatRuleArgs(args: readonly string[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const a = i > 0 && STRING_OPTIONS.has(args[i - 1]) ? quoteArg(args[i]) : args[i];
    out = i === 0 ? a : out + ' ' + a;
  }
  return out;
}

interface MatchUse {
  name: string;
  ext: Ext | undefined;
  opts: Opt[];
  /** Argument index of the first option (for the proto-before-option check). */
  firstOpt: number;
  implicit: boolean;
}

const PROTO_MATCHES = new Set(['tcp', 'udp', 'sctp', 'dccp', 'icmp', 'icmp6', 'multiport']);

/** Long option spelling → core option letter (or null): a small vocabulary, so memoized. */
const longCore = new Map<string, string | null>();

function coreOf(tok: string): string | undefined {
  if (tok.length === 2 && tok[0] === '-') {
    const c = tok[1];
    return 'sdiopfmjg'.includes(c) ? c : c === 'c' ? 'c' : undefined;
  }
  if (tok.length < 3 || tok[0] !== '-' || tok[1] !== '-') return undefined;
  let c = longCore.get(tok);
  if (c === undefined) {
    c = coreOption(tok) ?? null;
    if (longCore.size < 10_000) longCore.set(tok, c);
  }
  return c ?? undefined;
}

function lookupProto(value: string): number | undefined {
  const v = value.toLowerCase();
  if (/^\d/.test(v)) {
    // xtables_strtoui base 0: decimal, 0x hex, leading-0 octal
    let n: number;
    if (/^(?:0|[1-9]\d*)$/.test(v)) n = Number(v);
    else if (/^0x[0-9a-f]+$/.test(v)) n = parseInt(v.slice(2), 16);
    else if (/^0[0-7]+$/.test(v)) n = parseInt(v.slice(1), 8);
    else return undefined;
    return n <= 255 ? n : undefined;
  }
  if (v === 'all') return 0;
  return PROTO_BY_NAME.get(v);
}

class RuleParser {
  reasons: string[] = [];
  src: { inv: boolean; items: string[] } | undefined;
  dst: { inv: boolean; items: string[] } | undefined;
  iface: Array<{ opt: 'i' | 'o'; inv: boolean; name: string } | undefined> = [undefined, undefined];
  proto: { inv: boolean; num: number | undefined; raw: string; at: number } | undefined;
  frag: { inv: boolean } | undefined;
  matches: MatchUse[] = [];
  target: { kind: 'j' | 'g'; name: string; ext: Ext | undefined; opts: Opt[] } | undefined;

  constructor(private readonly args: readonly string[], private readonly family: Family) {}

  unsure(reason: string): void {
    if (!this.reasons.includes(reason)) this.reasons.push(reason);
  }

  parse(): void {
    const args = this.args;
    let inv = false;
    for (let i = 0; i < args.length; i++) {
      const tok = args[i];
      if (tok === '!') {
        if (inv) this.unsure("'! !' (iptables rejects it)");
        inv = true;
        continue;
      }
      if (tok.includes('=') && tok.startsWith('--')) {
        this.unsure(`option written as '${tok}' (with '='): not modelled by the offline normalizer`);
      }
      const core = coreOf(tok);
      if (core !== undefined) {
        const value = args[i + 1];
        if (core !== 'f' && value === undefined) {
          this.unsure(`'${tok}' without a value (iptables rejects it)`);
          break;
        }
        switch (core) {
          case 's':
          case 'd': {
            if ((core === 's' ? this.src : this.dst) !== undefined) this.unsure(`multiple -${core} (iptables rejects it)`);
            const spec = { inv, items: value.split(',') };
            if (core === 's') this.src = spec;
            else this.dst = spec;
            i++;
            break;
          }
          case 'i':
          case 'o': {
            const k = core === 'i' ? 0 : 1;
            if (this.iface[k]) this.unsure(`multiple -${core} (iptables rejects it)`);
            if (value.length > 15) this.unsure(`interface name '${value}' longer than 15 characters (iptables rejects it)`);
            this.iface[k] = { opt: core, inv, name: value };
            i++;
            break;
          }
          case 'p': {
            if (this.proto) this.unsure('multiple -p (iptables rejects it)');
            const num = lookupProto(value);
            if (num === undefined) this.unsure(`protocol '${value}' not known to the offline normalizer`);
            this.proto = { inv, num, raw: value, at: i };
            i++;
            break;
          }
          case 'f':
            if (this.family === 'ipv6') this.unsure('-f in an IPv6 rule (ip6tables rejects it)');
            this.frag = { inv };
            break;
          case 'm': {
            if (inv) this.unsure("'!' before -m (iptables rejects it)");
            const ext = MATCHES[value];
            if (!ext) this.unsure(`match '${value}' not known to the offline normalizer`);
            else if ((value === 'icmp' && this.family === 'ipv6') || (value === 'icmp6' && this.family === 'ipv4')) {
              this.unsure(`match '${value}' does not exist for ${this.family === 'ipv4' ? 'iptables' : 'ip6tables'}`);
            }
            this.matches.push({ name: value, ext, opts: [], firstOpt: -1, implicit: false });
            i++;
            break;
          }
          case 'j':
          case 'g': {
            if (inv) this.unsure(`'!' before -${core} (iptables rejects it)`);
            if (this.target) this.unsure('more than one target (iptables rejects it)');
            let ext: Ext | undefined;
            if (core === 'j') {
              ext = TARGETS[value];
              if (!ext && isKnownTarget(value, this.family)) this.unsure(`target '${value}' not known to the offline normalizer`);
            }
            this.target = { kind: core, name: value, ext, opts: [] };
            i++;
            break;
          }
          default:
            this.unsure(`option '${tok}' not modelled by the offline normalizer`);
        }
        inv = false;
        continue;
      }
      if (!tok.startsWith('-')) {
        this.unsure(`unexpected argument '${tok}'`);
        this.orphan(tok, inv);
        inv = false;
        continue;
      }
      i = this.extOption(i, inv);
      inv = false;
    }
    if (inv) this.unsure("'!' at the end of the rule (iptables rejects it)");
  }

  /** An orphan token is kept in the output (best effort) after the matches. */
  private orphans: string[] = [];

  private orphan(tok: string, inv: boolean): void {
    if (inv) this.orphans.push('!');
    this.orphans.push(tok);
  }

  get orphanArgs(): string[] {
    return this.orphans;
  }

  private abbreviates(tok: string): boolean {
    const exts: Array<Ext | undefined> = [this.target?.ext, ...this.matches.map((m) => m.ext)];
    for (const e of exts) {
      if (!e) continue;
      for (const o in e.opts) if (o.length > tok.length && o.startsWith(tok)) return true;
    }
    return false;
  }

  /** An extension option at args[i]; returns the index of its last value. */
  private extOption(i: number, inv: boolean): number {
    const tok = this.args[i];
    const take = (ext: Ext, into: Opt[]): number => {
      const [key, n] = ext.opts[tok];
      const vals = this.args.slice(i + 1, i + 1 + n);
      if (vals.length < n) this.unsure(`'${tok}' needs ${n} value${n > 1 ? 's' : ''}`);
      into.push({ key, spelling: tok, inv, vals });
      return i + vals.length;
    };
    const t = this.target;
    if (t?.ext && Object.prototype.hasOwnProperty.call(t.ext.opts, tok)) return take(t.ext, t.opts);
    for (let k = this.matches.length - 1; k >= 0; k--) {
      const m = this.matches[k];
      if (m.ext && Object.prototype.hasOwnProperty.call(m.ext.opts, tok)) {
        if (m.firstOpt < 0) m.firstOpt = i;
        return take(m.ext, m.opts);
      }
    }
    // getopt_long accepts an unambiguous prefix of any loaded option (`--dport` → multiport's
    // `--dports`) before iptables would load the protocol's own match.
    if (this.abbreviates(tok)) {
      this.unsure(`'${tok}' is an abbreviation of another option of this rule's extensions (getopt)`);
    }
    const imp = this.proto && !this.proto.inv ? implicitMatch(this.proto.num, this.family) : undefined;
    const impExt = imp ? MATCHES[imp] : undefined;
    if (imp && impExt && Object.prototype.hasOwnProperty.call(impExt.opts, tok) && !this.matches.some((m) => m.implicit)) {
      const m: MatchUse = { name: imp, ext: impExt, opts: [], firstOpt: i, implicit: true };
      this.matches.push(m);
      return take(impExt, m.opts);
    }
    // Not an option of anything modelled: give it (and its values, up to the next option) to
    // the unmodelled target or match it probably belongs to, so the best effort keeps it.
    let j = i + 1;
    const vals: string[] = [];
    while (j < this.args.length && !this.args[j].startsWith('-') && this.args[j] !== '!') vals.push(this.args[j++]);
    const opt: Opt = { key: tok, spelling: tok, inv, vals };
    const unknownTarget = t && !t.ext && t.kind === 'j' && isKnownTarget(t.name, this.family);
    const owner = unknownTarget ? undefined : [...this.matches].reverse().find((m) => !m.ext);
    if (unknownTarget) t.opts.push(opt);
    else if (owner) owner.opts.push(opt);
    else {
      this.unsure(`option '${tok}' not known to the offline normalizer`);
      this.orphan(tok, inv);
      this.orphans.push(...vals);
    }
    return j - 1;
  }
}

function raw(opts: Opt[]): string[] {
  const out: string[] = [];
  for (const o of opts) {
    if (o.inv) out.push('!');
    out.push(o.spelling, ...o.vals);
  }
  return out;
}

function buildExt(ext: Ext | undefined, opts: Opt[], ctx: Ctx, name: string): string[] {
  if (!ext) return raw(opts);
  try {
    return ext.build(opts, ctx, name);
  } catch (e) {
    if (!(e instanceof Unsure)) throw e;
    ctx.unsure(e.reason);
    return raw(opts);
  }
}

function canonAddrs(items: string[], v6: boolean, p: RuleParser): Array<string | null> {
  return items.map((item) => {
    try {
      return v6 ? canonV6Net(item) : canonV4Net(item);
    } catch (e) {
      if (!(e instanceof Unsure)) throw e;
      p.unsure(e.reason);
      return item;
    }
  });
}

function normalizeUncached(args: readonly string[], family: Family): Normalized {
  const p = new RuleParser(args, family);
  p.parse();
  const v6 = family === 'ipv6';
  const ctx: Ctx = {
    family,
    proto: p.proto && !p.proto.inv ? p.proto.num : undefined,
    protoName: undefined,
    unsure: (r) => p.unsure(r),
  };
  if (ctx.proto !== undefined) ctx.protoName = PROTO_NAME.get(ctx.proto);

  // Everything after the addresses is the same for each rule of the expansion.
  const tail: string[] = [];
  for (const k of [0, 1] as const) {
    const f = p.iface[k];
    if (!f) continue;
    if (f.name === '+') {
      if (f.inv) p.unsure(`'! -${f.opt} +': iptables-nft prints it, iptables-legacy drops it`);
      else continue;
    }
    if (f.inv) tail.push('!');
    tail.push(`-${f.opt}`, f.name);
  }
  if (p.proto) {
    const { inv, num, raw: rawName } = p.proto;
    if (num === 0) {
      if (inv) p.unsure(`'! -p ${rawName}' not modelled by the offline normalizer`);
    } else {
      if (inv) tail.push('!');
      tail.push('-p', num === undefined ? rawName : PROTO_NAME.get(num) ?? String(num));
    }
  }
  if (p.frag) {
    if (p.frag.inv) tail.push('!');
    tail.push('-f');
  }
  const seen = new Map<string, number>();
  for (const m of p.matches) {
    if (m.ext && PROTO_MATCHES.has(m.name) && m.firstOpt >= 0 && (!p.proto || m.firstOpt < p.proto.at)) {
      p.unsure(`'-m ${m.name}' option before -p (iptables rejects it)`);
    }
    if (m.name === 'tcp' || m.name === 'udp') {
      const n = (seen.get(m.name) ?? 0) + 1;
      seen.set(m.name, n);
      if (n === 2) p.unsure(`two ${m.name} matches: iptables-nft merges them into one, iptables-legacy keeps both`);
    }
    tail.push('-m', m.name, ...buildExt(m.ext, m.opts, ctx, m.name));
  }
  tail.push(...p.orphanArgs);
  if (p.target) {
    const t = p.target;
    tail.push(`-${t.kind}`, t.name);
    if (t.ext || t.opts.length) tail.push(...buildExt(t.ext, t.opts, ctx, t.name));
  }

  if ((p.src?.inv || p.dst?.inv) && ((p.src?.items.length ?? 0) > 1 || (p.dst?.items.length ?? 0) > 1)) {
    p.unsure("'!' with several source or destination addresses (iptables rejects it)");
  }
  const srcs = p.src ? canonAddrs(p.src.items, v6, p) : [null];
  const dsts = p.dst ? canonAddrs(p.dst.items, v6, p) : [null];
  const rules: string[][] = [];
  for (const s of srcs) {
    for (const d of dsts) {
      const r: string[] = [];
      if (s !== null) {
        if (p.src!.inv) r.push('!');
        r.push('-s', s);
      } else if (p.src?.inv) p.unsure("'! -s' with a /0 mask not modelled by the offline normalizer");
      if (d !== null) {
        if (p.dst!.inv) r.push('!');
        r.push('-d', d);
      } else if (p.dst?.inv) p.unsure("'! -d' with a /0 mask not modelled by the offline normalizer");
      for (const x of tail) r.push(x);
      rules.push(r);
    }
  }
  return p.reasons.length ? { certain: false, reason: p.reasons.join('; '), rules } : { certain: true, rules };
}

/** The canonical arguments of the rule(s) iptables would make of `args`. */
export function normalizeRule(args: readonly string[], family: Family): Normalized {
  return normalizeUncached(args, family);
}

/** Do two rule specifications describe the same rule (for `-D` by specification)? */
export function sameRuleSpec(a: string[], b: string[], family: Family): boolean {
  if (a.length === b.length && a.every((v, i) => v === b[i])) return true;
  const na = normalizeRule(a, family);
  if (!na.certain) return false;
  const nb = normalizeRule(b, family);
  if (!nb.certain || na.rules.length !== nb.rules.length) return false;
  return na.rules.every((r, i) => r.length === nb.rules[i].length && r.every((v, k) => v === nb.rules[i][k]));
}

export interface UncertainRule {
  table: string;
  chain: string;
  rule: Rule;
  reason: string;
}

/**
 * A copy of the ruleset whose rules carry canonical args and text (one rule per element of
 * an `-s`/`-d` expansion, each keeping the source reference and counters). Uncertain rules
 * carry the best-effort form and are listed with the reason.
 */
export function normalizeRuleset(rs: Ruleset): { ruleset: Ruleset; uncertain: UncertainRule[] } {
  const uncertain: UncertainRule[] = [];
  const out: Ruleset = { family: rs.family, tables: new Map() };
  for (const [tname, table] of rs.tables) {
    const chains = new Map<string, (typeof table.chains extends Map<string, infer C> ? C : never)>();
    for (const [cname, chain] of table.chains) {
      const rules: Rule[] = [];
      for (const r of chain.rules) {
        const n = normalizeRule(r.args, rs.family);
        if (!n.certain) uncertain.push({ table: tname, chain: cname, rule: r, reason: n.reason ?? 'uncertain' });
        for (const args of n.rules) {
          const nr: Rule = { ...r, args, text: formatRuleArgs(args), source: r.source };
          if (r.counters) nr.counters = { ...r.counters };
          rules.push(nr);
        }
      }
      chains.set(cname, { ...chain, rules });
    }
    out.tables.set(tname, { ...table, chains });
  }
  return { ruleset: out, uncertain };
}
