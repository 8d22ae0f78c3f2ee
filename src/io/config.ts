// Reading the configuration file. The default path may be absent; a path given with
// --config must exist. Only a regular file of at most 64 KiB is read (core/limits.ts).
import { configLimit } from '../core/limits.js';
import { parseConfig, type Config } from '../core/config.js';
import { clip, InputError } from '../errors.js';
import { CannotReadError, readBounded } from './input.js';

export const DEFAULT_CONFIG = '/etc/iptables-safe-restore.conf';

export function readConfig(path: string | undefined): Config {
  const file = path ?? DEFAULT_CONFIG;
  let bytes: Buffer;
  try {
    bytes = readBounded(file, configLimit);
  } catch (e) {
    if (!(e instanceof CannotReadError)) throw e;
    if (!path && e.code === 'ENOENT') return {};
    throw new InputError(`${clip(file)}: cannot read the configuration: ${e.code}`);
  }
  return parseConfig(bytes.toString('utf8'), file);
}
