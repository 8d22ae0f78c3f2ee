// Building the inputs of merge tests from real captures: a "stale save" is a capture whose
// container addresses and published ports were changed (as in a file saved yesterday while
// Docker ran), with the stock RHEL iptables-services rules added where a save would show
// them: INPUT rules after Docker's (Docker has none there), FORWARD's REJECT after Docker's
// inserted rules.
import { readFileSync } from 'node:fs';
import { fixture, withoutComments } from './fixtures.js';

export const RHEL = {
  ipv4: readFileSync(fixture('rhel-iptables-services.rules'), 'utf8'),
  ipv6: readFileSync(fixture('rhel-ip6tables-services.rules'), 'utf8'),
};

export function rhelRules(family: 'ipv4' | 'ipv6', chain: string): string[] {
  return RHEL[family].split('\n').filter((l) => l.startsWith(`-A ${chain} `)).map((l) => l.slice(`-A ${chain} `.length));
}

/** Change every container host address and published port in a capture. */
export function staleCopy(text: string): string {
  return withoutComments(text)
    .replace(/\b(\d{1,3}\.\d{1,3}\.\d{1,3})\.(\d{1,3})(\/32|:)/g, (m, net: string, last: string, tail: string) =>
      net === '127.0.0' ? m : `${net}.${(Number(last) + 75) % 250}${tail}`)
    .replace(/\[([0-9a-f:]+):([0-9a-f]{1,4})\]:/g, (_m, head: string) => `[${head}:beef]:`)
    .replace(/([0-9a-f]+:[0-9a-f:]*):([0-9a-f]{1,4})\/128/g, (m, head: string) => (m.startsWith('::1/') ? m : `${head}:beef/128`))
    .replace(/--dport (8080|18080)\b/g, '--dport 8090');
}

/** The stale save plus the RHEL rules: what a user's /etc/sysconfig/iptables looks like. */
export function userFileFrom(capture: string, family: 'ipv4' | 'ipv6'): string {
  const stale = staleCopy(capture);
  const input = rhelRules(family, 'INPUT').map((r) => `-A INPUT ${r}`);
  const forward = rhelRules(family, 'FORWARD').map((r) => `-A FORWARD ${r}`);
  if (!/^\*filter$/m.test(stale)) {
    return `${stale}*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${[...input, ...forward].join('\n')}\nCOMMIT\n`;
  }
  const lines = stale.split('\n');
  const start = lines.indexOf('*filter');
  const end = lines.indexOf('COMMIT', start);
  let lastDecl = start;
  while (lines[lastDecl + 1]?.startsWith(':')) lastDecl++;
  for (const c of ['INPUT', 'FORWARD', 'OUTPUT']) {
    const i = lines.findIndex((l, k) => k > start && k <= lastDecl && l.startsWith(`:${c} `));
    if (i >= 0) lines[i] = `:${c} ACCEPT [0:0]`;
  }
  lines.splice(end, 0, ...forward);
  lines.splice(lastDecl + 1, 0, ...input);
  return lines.join('\n');
}
