// The configuration file (default /etc/iptables-safe-restore.conf): `key = value` lines,
// `#` comments. Command-line options override it; --preserve adds to its `preserve`.
//
//   preserve = kube-proxy fail2ban      # other owners whose chains are kept
//   docker-socket = /run/docker.sock
//   backend = nft                       # auto | nft | legacy
//   rules-ipv4 = /etc/sysconfig/iptables   # the ruleset `reconcile` keeps the kernel at
//   rules-ipv6 = /etc/sysconfig/ip6tables
//   timeout = 5m                        # how long iptables-save/-restore may run (--timeout)
//   max-ruleset-size = 64M              # the most of a ruleset read (default 32M; limits.ts)
import { ParseError, type Diagnostic } from '../errors.js';
import { parseDuration } from './duration.js';
import { parseSize } from './limits.js';

/** A child process's bound: `--timeout` or the `timeout` setting, 1 s to 24 h. */
export function parseTimeout(text: string, what: string): number {
  return parseDuration(text, what, 1000, 24 * 3_600_000);
}

export interface Config {
  preserve?: string[];
  dockerSocket?: string;
  backend?: 'auto' | 'nft' | 'legacy';
  /** The ruleset file of each family (reconcile's default FILE). */
  rules?: { ipv4?: string; ipv6?: string };
  /** How long a child process (iptables-restore, iptables-save, …) may run, in ms. */
  timeoutMs?: number;
  /** The largest ruleset read, in bytes (a saved plan: four times this). */
  maxRulesetSize?: number;
}

const KEYS = ['preserve', 'docker-socket', 'backend', 'rules-ipv4', 'rules-ipv6', 'timeout', 'max-ruleset-size'];

export function parseConfig(text: string, file: string): Config {
  const cfg: Config = {};
  const errors: Diagnostic[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    const value = eq < 0 ? '' : line.slice(eq + 1).trim();
    const at = { file, line: i + 1 };
    if (eq < 0) return void errors.push({ ...at, reason: `expected 'key = value'`, token: line });
    if (!KEYS.includes(key)) return void errors.push({ ...at, reason: `unknown setting '${key}' (known: ${KEYS.join(', ')})` });
    if (key === 'preserve') cfg.preserve = [...(cfg.preserve ?? []), ...value.split(/[\s,]+/).filter(Boolean)];
    if (key === 'docker-socket') cfg.dockerSocket = value;
    if (key === 'rules-ipv4' || key === 'rules-ipv6') {
      if (!value.startsWith('/')) return void errors.push({ ...at, reason: `${key} must be an absolute path, not '${value}'` });
      cfg.rules = { ...cfg.rules, [key === 'rules-ipv4' ? 'ipv4' : 'ipv6']: value };
    }
    if (key === 'timeout') {
      try {
        cfg.timeoutMs = parseTimeout(value, 'timeout');
      } catch (e) {
        return void errors.push({ ...at, reason: (e as Error).message });
      }
    }
    if (key === 'max-ruleset-size') {
      const n = parseSize(value);
      if (n === undefined) return void errors.push({ ...at, reason: `max-ruleset-size must be a size such as 64M (K, M, G: binary units), not '${value}'` });
      cfg.maxRulesetSize = n;
    }
    if (key === 'backend') {
      if (value !== 'auto' && value !== 'nft' && value !== 'legacy') return void errors.push({ ...at, reason: `backend must be auto, nft or legacy, not '${value}'` });
      cfg.backend = value;
    }
  });
  if (errors.length) throw new ParseError(errors);
  return cfg;
}
