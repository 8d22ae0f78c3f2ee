// Colour for terminals only: off with --no-color, with NO_COLOR set (no-color.org), or when
// stdout is not a terminal.
export interface Palette {
  red(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
  bold(s: string): string;
  yellow(s: string): string;
}

const wrap = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const plain = (s: string) => s;

export function palette(enabled: boolean): Palette {
  return enabled
    ? { red: wrap('31'), green: wrap('32'), cyan: wrap('36'), bold: wrap('1'), yellow: wrap('33') }
    : { red: plain, green: plain, cyan: plain, bold: plain, yellow: plain };
}

export function colorWanted(flag: boolean | undefined, isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY;
}
