// Reading the configuration file. The default path may be absent; a path given with
// --config must exist.
import { existsSync, readFileSync } from 'node:fs';
import { parseConfig, type Config } from '../core/config.js';
import { InputError } from '../errors.js';

export const DEFAULT_CONFIG = '/etc/iptables-safe-restore.conf';

export function readConfig(path: string | undefined): Config {
  const file = path ?? DEFAULT_CONFIG;
  if (!path && !existsSync(file)) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read the configuration: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseConfig(text, file);
}
