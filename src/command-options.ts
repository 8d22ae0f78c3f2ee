// Options given on the command line over the configuration file (/etc/iptables-safe-restore.conf,
// or --config): an option given wins, --preserve adds to the file's list. Shared by the yargs
// command table (cli.ts) and the twin (commands/twin.ts), which parse their own command lines.
import type { Family } from './core/model.js';
import type { PipelineOptions } from './pipeline.js';
import { parseTimeout } from './core/config.js';

export interface GivenOptions {
  file?: string;
  liveFrom?: string;
  /** undefined when not given on the command line. */
  backend?: 'auto' | 'nft' | 'legacy';
  dockerSocket?: string;
  preserve?: string[];
  config?: string;
  netns?: string;
  force?: boolean;
  /** --timeout: how long a child process may run (a duration). */
  timeout?: string;
}

export async function pipelineArgs(a: GivenOptions, family: Family): Promise<PipelineOptions> {
  const { readConfig } = await import('./io/config.js');
  const cfg = readConfig(a.config);
  const timeoutMs = a.timeout !== undefined ? parseTimeout(a.timeout, '--timeout') : cfg.timeoutMs;
  if (timeoutMs !== undefined) (await import('./io/run.js')).setChildTimeout(timeoutMs);
  return {
    file: a.file,
    family,
    liveFrom: a.liveFrom,
    backend: a.backend ?? cfg.backend ?? 'auto',
    dockerSocket: a.dockerSocket ?? cfg.dockerSocket,
    preserve: [...(cfg.preserve ?? []), ...(a.preserve ?? [])],
    netns: netnsPath(a.netns),
    force: a.force,
    maxRulesetSize: cfg.maxRulesetSize,
  };
}

/** --netns NAME (under /run/netns) or a path. */
export function netnsPath(netns: string | undefined): string | undefined {
  return netns === undefined ? undefined : netns.includes('/') ? netns : `/run/netns/${netns}`;
}
