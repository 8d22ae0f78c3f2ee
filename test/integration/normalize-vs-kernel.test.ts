// The lexical normalizer against the kernel: every corpus file is loaded into a throwaway
// namespace with each backend's iptables-restore and read back with iptables-save; the
// normalizer's prediction must equal the kernel's text for every rule it calls certain.
// Rules it calls uncertain must be exactly the expected list below, so that coverage cannot
// silently rot (a rule that becomes uncertain, or one that becomes certain, fails the test
// until this list is updated on purpose).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseRuleset } from '../../src/core/parse.js';
import { chainsInSaveOrder, type Family, type Rule } from '../../src/core/model.js';
import { formatRuleArgs, normalizeRule } from '../../src/core/normalize.js';
import { canonicalizeInKernel } from '../../src/io/canonicalize.js';
import type { Backend } from '../../src/io/iptables.js';
import { requireRoot } from '../helpers/root.js';

const CORPUS = new URL('../../../test/fixtures/normalize-corpus/', import.meta.url).pathname;

/**
 * Corpus rules the normalizer must report as uncertain (file:line), with the gist of why.
 * Both backends share this list: the normalizer does not depend on the backend, it calls a
 * rule uncertain precisely where the backends (or the host's databases) disagree.
 */
const EXPECTED_UNCERTAIN: Record<string, string> = {
  'core-tcp-icmp.v4.rules:15': "option '--ctproto' not known to the offline normalizer; option '--ctorigdst' not known to the offline normalizer",
  'core-tcp-icmp.v4.rules:66': "address '010.1.1.1' is not a plain dotted quad: iptables reads it with inet_aton rules (octal, short forms)",
  'core-tcp-icmp.v4.rules:67': "address '167772161' is not a plain dotted quad: iptables reads it with inet_aton rules (octal, short forms)",
  'core-tcp-icmp.v4.rules:68': "address '10.1' is not a plain dotted quad: iptables reads it with inet_aton rules (octal, short forms)",
  'core.v6.rules:66': "match 'hl' not known to the offline normalizer",
  'core.v6.rules:67': "match 'frag' not known to the offline normalizer",
  'core.v6.rules:68': "match 'rt' not known to the offline normalizer",
  'core.v6.rules:69': "match 'ipv6header' not known to the offline normalizer",
  'mangle-targets.v4.rules:22': "target 'NFLOG' not known to the offline normalizer",
  'mangle-targets.v4.rules:23': "target 'NFLOG' not known to the offline normalizer",
  'mangle-targets.v4.rules:26': "target 'AUDIT' not known to the offline normalizer",
  'mangle-targets.v4.rules:27': "target 'DSCP' not known to the offline normalizer",
  'mangle-targets.v4.rules:28': "target 'TOS' not known to the offline normalizer",
  'mangle.v6.rules:11': "match 'frag' not known to the offline normalizer",
  'mangle.v6.rules:13': "match 'hl' not known to the offline normalizer",
  'matches-more.v4.rules:10': "two tcp matches: iptables-nft merges them into one, iptables-legacy keeps both",
  'matches-more.v4.rules:8': "two udp matches: iptables-nft merges them into one, iptables-legacy keeps both",
  'matches-more.v4.rules:9': "two udp matches: iptables-nft merges them into one, iptables-legacy keeps both",
  'matches.v4.rules:34': "user 'root' is a name: iptables looks it up in the host's user database at load time",
  'matches.v4.rules:53': "match 'hashlimit' not known to the offline normalizer",
  'matches.v4.rules:54': "match 'string' not known to the offline normalizer",
  'matches.v4.rules:55': "match 'u32' not known to the offline normalizer",
  'matches.v4.rules:56': "match 'tos' not known to the offline normalizer",
  'matches.v4.rules:57': "match 'ttl' not known to the offline normalizer",
  'matches.v4.rules:58': "match 'statistic' not known to the offline normalizer",
  'matches.v4.rules:59': "match 'helper' not known to the offline normalizer",
  'matches.v4.rules:60': "match 'connlimit' not known to the offline normalizer",
  'mixed.v4.rules:12': "'! --dport 0:65535': iptables-nft drops the whole match, iptables-legacy prints it",
  'mixed.v4.rules:13': "'! --tcp-flags NONE \u2026': iptables-nft drops the whole match, iptables-legacy prints it",
  'nat-targets.v4.rules:30': "target 'NETMAP' not known to the offline normalizer",
  'ordering-interfaces.v4.rules:17': "'! -o +': iptables-nft prints it, iptables-legacy drops it",
  'ordering-interfaces.v4.rules:7': "two tcp matches: iptables-nft merges them into one, iptables-legacy keeps both",
  'raw-targets.v4.rules:11': "option '--zone-orig' not known to the offline normalizer; CT with several options not modelled by the offline normalizer",
};

function corpusFiles(): Array<{ file: string; family: Family }> {
  return readdirSync(CORPUS)
    .filter((f) => /\.v[46]\.rules$/.test(f))
    .sort()
    .map((file) => ({ file, family: file.endsWith('.v6.rules') ? 'ipv6' : 'ipv4' }));
}

interface Outcome {
  certain: number;
  uncertain: number;
  uncertainMatchingKernel: number;
  uncertainKeys: Map<string, string>;
  mismatches: string[];
}

async function checkFile(file: string, family: Family, backend: Backend, out: Outcome): Promise<void> {
  const text = readFileSync(join(CORPUS, file), 'utf8');
  const { ruleset } = parseRuleset(text, { file, family });
  const kernelText = await canonicalizeInKernel(ruleset, backend);
  const kernel = parseRuleset(kernelText, { file: `${file} (kernel, ${backend})`, family }).ruleset;

  for (const table of ruleset.tables.values()) {
    const ktable = kernel.tables.get(table.name);
    assert.ok(ktable, `${file}: table ${table.name} missing from the kernel's output`);
    for (const chain of chainsInSaveOrder(table)) {
      const krules: Rule[] = ktable.chains.get(chain.name)?.rules ?? [];
      let k = 0;
      for (const rule of chain.rules) {
        const key = `${file}:${rule.source?.line}`;
        const n = normalizeRule(rule.args, family);
        const got = krules.slice(k, k + n.rules.length).map((r) => r.text);
        k += n.rules.length;
        const want = n.rules.map(formatRuleArgs);
        const same = got.length === want.length && got.every((g, i) => g === want[i]);
        if (!n.certain) {
          out.uncertain++;
          if (same) out.uncertainMatchingKernel++;
          out.uncertainKeys.set(key, n.reason ?? '');
          continue;
        }
        out.certain++;
        if (!same) {
          out.mismatches.push(`${key} [${backend}] ${rule.text}\n    normalizer: ${want.join(' | ')}\n    kernel:     ${got.join(' | ')}`);
          continue;
        }
        // Fixed point: normalizing what the kernel printed gives back the kernel's text.
        for (const kr of krules.slice(k - n.rules.length, k)) {
          const again = normalizeRule(kr.args, family);
          const back = again.rules.map(formatRuleArgs);
          if (!again.certain || back.length !== 1 || back[0] !== kr.text) {
            out.mismatches.push(`${key} [${backend}] not a fixed point: ${kr.text}\n    → ${back.join(' | ')} ${again.certain ? '' : `(uncertain: ${again.reason})`}`);
          }
        }
      }
      if (k !== krules.length) {
        out.mismatches.push(`${file} [${backend}] chain ${table.name}/${chain.name}: kernel has ${krules.length} rules, the normalizer accounted for ${k}`);
      }
    }
  }
}

async function runBackend(t: TestContext, backend: Backend): Promise<void> {
  if (!requireRoot(t)) return;
  const out: Outcome = { certain: 0, uncertain: 0, uncertainMatchingKernel: 0, uncertainKeys: new Map(), mismatches: [] };
  const files = corpusFiles();
  assert.ok(files.length >= 10, 'corpus files missing');
  for (const { file, family } of files) await checkFile(file, family, backend, out);

  t.diagnostic(`${backend}: ${files.length} files, ${out.certain + out.uncertain} rules: ${out.certain} certain (all equal to the kernel's text), ${out.uncertain} uncertain (${out.uncertainMatchingKernel} of which happen to match the kernel)`);
  for (const [key, reason] of out.uncertainKeys) t.diagnostic(`uncertain ${key}: ${reason}`);

  assert.deepEqual(out.mismatches, [], `certain rules that differ from the kernel (${backend}):\n${out.mismatches.join('\n')}`);
  const unexpected = [...out.uncertainKeys.keys()].filter((k) => !(k in EXPECTED_UNCERTAIN));
  const missing = Object.keys(EXPECTED_UNCERTAIN).filter((k) => !out.uncertainKeys.has(k));
  assert.deepEqual(unexpected, [], 'rules newly uncertain: fix the normalizer or add them to EXPECTED_UNCERTAIN');
  assert.deepEqual(missing, [], 'rules expected uncertain are now certain (or gone): update EXPECTED_UNCERTAIN');
  for (const [key, reason] of out.uncertainKeys) assert.equal(reason, EXPECTED_UNCERTAIN[key], `reason for ${key}`);
  assert.ok(out.certain > out.uncertain * 4, 'uncertain rules should stay a small part of the corpus');
}

test('lexical normalization agrees with kernel canonicalization on the corpus', async (t) => {
  await t.test('nft backend', (t) => runBackend(t, 'nft'));
  await t.test('legacy backend', (t) => runBackend(t, 'legacy'));
});
