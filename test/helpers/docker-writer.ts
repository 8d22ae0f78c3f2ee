// A Docker-like writer, run as its own process by the apply tests: for DURATION ms it adds
// and removes rules shaped like Docker's — in the DOCKER chain, jumps in FORWARD, hairpin
// MASQUERADE in nat POSTROUTING — in a namespace, the way dockerd does when containers come
// and go — one every 50 ms, sustained (dockerd needs 100+ ms per container). It stops when STOP_FILE appears (or after DURATION ms) and writes the rules it left
// in place, one `table chain spec` a line, to OUT_FILE.
//   node docker-writer.js NETNS_PATH BACKEND DURATION_MS OUT_FILE STOP_FILE
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';

const [netns, backend, duration, outFile, stopFile] = process.argv.slice(2);
const ipt = `iptables-${backend}`;
const run = (args: string[]) => spawnSync('nsenter', [`--net=${netns}`, '--', ipt, '-w', ...args], { encoding: 'utf8' });

interface Rule { table: string; chain: string; spec: string[]; insert: boolean }
const rulesFor = (n: number): Rule[] => {
  const ip = `172.17.1.${n}`;
  return [
    { table: 'filter', chain: 'DOCKER', spec: ['-d', `${ip}/32`, '!', '-i', 'docker0', '-o', 'docker0', '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'ACCEPT'], insert: false },
    { table: 'filter', chain: 'FORWARD', spec: ['-o', `br-w${n}`, '-j', 'DOCKER'], insert: true },
    { table: 'nat', chain: 'POSTROUTING', spec: ['-s', `${ip}/32`, '-d', `${ip}/32`, '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'MASQUERADE'], insert: false },
  ];
};

const present = new Map<number, Rule[]>();
const end = Date.now() + Number(duration);
let n = 0;
const pause = new Int32Array(new SharedArrayBuffer(4));
while (Date.now() < end && !existsSync(stopFile)) {
  Atomics.wait(pause, 0, 0, 50); // a container comes or goes every 50 ms, as on a busy host
  n = (n % 40) + 1;
  // odd sets stay once added (so some of its rules are always left to check); even ones come and go
  if (present.has(n) && n % 2 === 1) continue;
  if (present.has(n)) {
    for (const r of present.get(n)!) run(['-t', r.table, '-D', r.chain, ...r.spec]);
    present.delete(n);
  } else {
    const rs = rulesFor(n);
    for (const r of rs) run(['-t', r.table, r.insert ? '-I' : '-A', r.chain, ...(r.insert ? ['1'] : []), ...r.spec]);
    present.set(n, rs);
  }
}
writeFileSync(outFile, [...present.values()].flat().map((r) => `${r.table} ${r.chain} ${r.spec.join(' ')}`).join('\n') + '\n');
