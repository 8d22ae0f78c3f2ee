// Realistic synthetic rulesets for benchmarks, deterministic (same size and seed, same text):
//  - the user's part: chains of 200 rules with tcp/udp, multiport, conntrack and comments,
//    reached from INPUT by source network;
//  - Docker's part, laid out as Docker 28 writes it (test/fixtures/lab/28/user-bridge.v4.rules):
//    per network a bridge with its DOCKER / DOCKER-BRIDGE / DOCKER-CT / DOCKER-FORWARD /
//    isolation rules and its masquerade, per container a published port (filter ACCEPT,
//    nat DNAT, raw direct-routing DROP).
// The text is what iptables-save prints for it (kernel-canonical), so a file equal to the
// live ruleset plans to "no changes".

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Docker's networks and containers for about `rules` Docker rules (8 per network, 3 per container). */
export function dockerLayout(rules) {
  const networks = Math.max(1, Math.round(rules / 40));
  const containers = Math.max(1, Math.floor((rules - 7 - 8 * networks) / 3));
  const nets = [];
  for (let k = 0; k < networks; k++) {
    const bridge = k === 0 ? 'docker0' : `br-${(0x5eed0000 + k).toString(16).padStart(12, '0')}`;
    const subnet = k === 0 ? '172.17.0.0/16' : `172.${18 + Math.floor((k - 1) / 256)}.${(k - 1) % 256}.0/24`;
    nets.push({ bridge, subnet, containers: [] });
  }
  for (let c = 0; c < containers; c++) {
    const net = nets[c % networks];
    const [a, b, d] = net.subnet.split('.');
    const host = 2 + Math.floor(c / networks);
    const addr = net.bridge === 'docker0' ? `${a}.${b}.${Math.floor(host / 256)}.${host % 256}` : `${a}.${b}.${d}.${host}`;
    net.containers.push({ addr, port: 10000 + c });
  }
  return nets;
}

/** An IPv4 restore file with about `rules` rules, `dockerRules` of them Docker's. */
export function generateRuleset({ rules, dockerRules = Math.round(rules / 20), seed = 1 }) {
  const r = rng(seed);
  const n = (k) => Math.floor(r() * k);
  const ip = () => `10.${n(256)}.${n(256)}.${1 + n(254)}`;
  const nets = dockerLayout(dockerRules);
  const docker = nets.reduce((s, x) => s + 8 + 3 * x.containers.length, 7);
  const userRules = Math.max(0, rules - docker - 2);
  const chains = Math.max(1, Math.ceil(userRules / 200));
  const userChains = Array.from({ length: chains }, (_, c) => `USER-${String(c).padStart(4, '0')}`);

  const raw = ['*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
  const filter = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]'];
  const dockerChains = ['DOCKER', 'DOCKER-BRIDGE', 'DOCKER-CT', 'DOCKER-FORWARD', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2', 'DOCKER-USER'];
  for (const c of [...dockerChains, ...userChains].sort()) filter.push(`:${c} - [0:0]`);
  const nat = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':DOCKER - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER', '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER'];

  // Rules in iptables-save order: built-in chains, then user-defined chains sorted by name.
  const body = new Map([...dockerChains, ...userChains].map((c) => [c, []]));
  filter.push('-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A INPUT -i lo -j ACCEPT');
  userChains.forEach((c, k) => filter.push(`-A INPUT -s 10.${k % 256}.0.0/16 -j ${c}`));
  filter.push('-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-FORWARD');
  const masq = [];
  const natDocker = [];
  const drops = [];
  body.get('DOCKER-FORWARD').push('-j DOCKER-CT', '-j DOCKER-ISOLATION-STAGE-1', '-j DOCKER-BRIDGE');
  for (const { bridge, subnet, containers } of nets) {
    for (const { addr, port } of containers) {
      raw.push(`-A PREROUTING -d ${addr}/32 ! -i ${bridge} -j DROP`);
      body.get('DOCKER').push(`-d ${addr}/32 ! -i ${bridge} -o ${bridge} -p tcp -m tcp --dport 80 -j ACCEPT`);
      natDocker.push(`-A DOCKER ! -i ${bridge} -p tcp -m tcp --dport ${port} -j DNAT --to-destination ${addr}:80`);
    }
    drops.push(`! -i ${bridge} -o ${bridge} -j DROP`);
    body.get('DOCKER-BRIDGE').push(`-o ${bridge} -j DOCKER`);
    body.get('DOCKER-CT').push(`-o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    body.get('DOCKER-FORWARD').push(`-i ${bridge} -j ACCEPT`);
    body.get('DOCKER-ISOLATION-STAGE-1').push(`-i ${bridge} ! -o ${bridge} -j DOCKER-ISOLATION-STAGE-2`);
    body.get('DOCKER-ISOLATION-STAGE-2').push(`-o ${bridge} -j DROP`);
    masq.push(`-A POSTROUTING -s ${subnet} ! -o ${bridge} -j MASQUERADE`);
    natDocker.unshift(`-A DOCKER -i ${bridge} -j RETURN`);
  }
  body.get('DOCKER').push(...drops);
  let made = 0;
  for (const name of userChains) {
    const rs = body.get(name);
    for (let k = 0; k < 200 && made < userRules; k++, made++) {
      switch (n(5)) {
        case 0: rs.push(`-s ${ip()}/32 -p tcp -m tcp --dport ${1 + n(65000)} -j ACCEPT`); break;
        case 1: rs.push(`-p udp -m udp --dport ${1 + n(65000)} -m comment --comment "svc ${made}" -j ACCEPT`); break;
        case 2: rs.push(`-p tcp -m multiport --dports ${1 + n(1000)},${1001 + n(1000)},${2001 + n(1000)} -j ACCEPT`); break;
        case 3: rs.push(`-s ${ip()}/32 -m conntrack --ctstate NEW -j DROP`); break;
        default: rs.push(`-d ${ip()}/32 -p tcp -m tcp --sport 1024:65535 -j REJECT --reject-with icmp-port-unreachable`);
      }
    }
  }
  for (const [c, rs] of [...body].sort((a, b) => (a[0] < b[0] ? -1 : 1))) for (const x of rs) filter.push(`-A ${c} ${x}`);
  nat.push(...masq, ...natDocker);
  return [...raw, 'COMMIT', ...filter, 'COMMIT', ...nat, 'COMMIT', ''].join('\n');
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

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
