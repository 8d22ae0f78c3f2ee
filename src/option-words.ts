// Which words of a command line may be options — shared by the command table (cli.ts) and the
// twin (twin-args.ts); main.ts applies it before either parses.
//
// Both parsers permute as getopt does (iptables-restore 1.8.9 takes `rules.v4 -n`; the README
// documents `apply rules.v4 rules.v6 --family both`), and `--` ends the options: every word
// after it is a FILE, even `-x.rules`. What permuting alone would allow is an option smuggled in
// through a glob: in a directory holding a file named `--force`, `apply *` expands to
// `apply --force rules.v4` (a glob sorts `-` first), indistinguishable from typing it. So a word
// before `--` that looks like an option and is also the name of a file in the current directory
// is refused, as neither option nor FILE: a glob put it there, or the run is ambiguous.
// `./--force` and words after `--` are always files. Nothing here touches the system: the
// caller says what exists.
import { clip, UsageError } from './errors.js';

/** Throws UsageError for the first word before `--` that looks like an option and names an existing file. */
export function refuseOptionsNamingFiles(argv: readonly string[], exists: (name: string) => boolean): void {
  for (const word of argv) {
    if (word === '--') return;
    if (word.length > 1 && word.startsWith('-') && exists(word)) {
      throw new UsageError(
        `'${clip(word)}' looks like an option but is also a file in the current directory (did a glob such as * expand to it?): ` +
          'refusing to take it as either; name files as ./NAME or after --, and rename that file to use the option here',
      );
    }
  }
}
