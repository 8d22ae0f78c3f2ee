// Realistic synthetic rulesets for benchmarks: user chains with tcp/udp, multiport,
// conntrack and comments, plus Docker's layout (as in the lab captures) for N containers.
// Deterministic: the same size and seed give the same text.

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An IPv4 restore file with about `rules` rules, `dockerRules` of them Docker's. */
export function generateRuleset({ rules, dockerRules = Math.round(rules / 20), seed = 1 }) {
  const r = rng(seed);
  const n = (k) => Math.floor(r() * k);
  const ip = () => `10.${n(256)}.${n(256)}.${1 + n(254)}`;
  const containers = Math.max(1, Math.floor(dockerRules / 4));
  const userRules = Math.max(0, rules - containers * 4 - 12);
  const chains = Math.max(1, Math.floor(userRules / 200));
  const filter = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':DOCKER - [0:0]',
    ':DOCKER-FORWARD - [0:0]', ':DOCKER-USER - [0:0]'];
  for (let c = 0; c < chains; c++) filter.push(`:USER-${String(c).padStart(4, '0')} - [0:0]`);
  filter.push('-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A INPUT -i lo -j ACCEPT');
  for (let c = 0; c < chains; c++) filter.push(`-A INPUT -s 10.${c % 256}.0.0/16 -j USER-${String(c).padStart(4, '0')}`);
  filter.push('-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-FORWARD');
  const nat = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    ':DOCKER - [0:0]', '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER', '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE'];
  let made = 0;
  for (let c = 0; c < chains && made < userRules; c++) {
    const name = `USER-${String(c).padStart(4, '0')}`;
    for (let k = 0; k < 200 && made < userRules; k++, made++) {
      switch (n(5)) {
        case 0: filter.push(`-A ${name} -s ${ip()}/32 -p tcp -m tcp --dport ${1 + n(65000)} -j ACCEPT`); break;
        case 1: filter.push(`-A ${name} -p udp -m udp --dport ${1 + n(65000)} -m comment --comment "svc ${made}" -j ACCEPT`); break;
        case 2: filter.push(`-A ${name} -p tcp -m multiport --dports ${1 + n(1000)},${1001 + n(1000)},${2001 + n(1000)} -j ACCEPT`); break;
        case 3: filter.push(`-A ${name} -s ${ip()}/32 -m conntrack --ctstate NEW -j DROP`); break;
        default: filter.push(`-A ${name} -d ${ip()}/32 -p tcp -m tcp --sport 1024:65535 -j REJECT --reject-with icmp-port-unreachable`);
      }
    }
  }
  for (let k = 0; k < containers; k++) {
    const a = `172.17.${Math.floor((k + 2) / 256)}.${(k + 2) % 256}`;
    const port = 10000 + k;
    filter.push(`-A DOCKER -d ${a}/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT`);
    filter.push(`-A DOCKER-FORWARD -o docker0 -d ${a}/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    nat.push(`-A DOCKER ! -i docker0 -p tcp -m tcp --dport ${port} -j DNAT --to-destination ${a}:80`);
    nat.push(`-A POSTROUTING -s ${a}/32 -d ${a}/32 -p tcp -m tcp --dport 80 -j MASQUERADE`);
  }
  filter.push('-A DOCKER-FORWARD -i docker0 -j ACCEPT', '-A DOCKER-USER -j RETURN', 'COMMIT');
  nat.push('COMMIT');
  return filter.join('\n') + '\n' + nat.join('\n') + '\n';
}

export function countRules(text) {
  let k = 0;
  for (const line of text.split('\n')) if (line.startsWith('-A ')) k++;
  return k;
}

/** The same ruleset with `churn` (0..1) of its user rules' verdicts flipped: a user's edited file. */
export function withChurn(text, churn) {
  let k = 0;
  const every = Math.max(1, Math.round(1 / churn));
  return text
    .split('\n')
    .map((l) => (l.startsWith('-A USER-') && k++ % every === 0 ? l.replace(/-j (ACCEPT|DROP)$/, (m) => (m.endsWith('ACCEPT') ? '-j DROP' : '-j ACCEPT')) : l))
    .join('\n');
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
