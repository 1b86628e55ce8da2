/**
 * The command line's flags, parsed as `node:util`'s `parseArgs` parses them in strict mode, for
 * the part of its options that `cli.ts` uses: boolean and string flags, short names, `multiple`.
 *
 * Why not `parseArgs` itself: importing any `node:` module makes Deno set up its Node
 * compatibility layer, 10-17 ms of CPU on this project's machine, paid on every run (and by
 * every capture and print worker, through the formatters); with it, `-w` took 75 ms to start
 * and stop on a small ring, and takes 55 ms without. Start-up is most of a short run's time,
 * and about a fifth of a 2,000,000-packet `-w` capture's (README.md, "Live capture").
 * `tests/flags_test.ts` checks this parser against `parseArgs` on generated command lines.
 *
 * What it accepts, as `parseArgs` does:
 * - `--name`, `--name=value` and `--name value`; `-n`, `-nvalue` and `-n value`; groups of
 *   short flags (`-vx`, `-xx`), where a string flag takes the rest of the group as its value
 *   (`-vc5`);
 * - `--` ends the flags: every word after it is a positional;
 * - a lone `-` is a positional (or a flag's value);
 * - a flag given twice keeps its last value, unless it is `multiple`;
 * - flags and positionals in any order.
 *
 * What it refuses, with a {@linkcode FlagError}: an unknown flag, a string flag with no value,
 * a value for a boolean flag, a separate value that looks like a flag (`-c -5`; write `-c-5` or
 * `--count=-5`), and positionals where none are allowed.
 *
 * @module
 */

/** One flag: its type, its one-letter name, whether every use is kept. */
export interface FlagSpec {
  readonly type: "boolean" | "string";
  /** The one-letter name (`c` for `-c`). */
  readonly short?: string;
  /** Keep every use, in order, instead of the last. */
  readonly multiple?: boolean;
}

/** A flag's value, by its spec: `true` for a boolean, the text for a string. */
export type FlagValue<S extends FlagSpec> = S["type"] extends "string"
  ? (S["multiple"] extends true ? string[] : string)
  : (S["multiple"] extends true ? true[] : true);

/** The flags given, by long name; a flag not given is absent. */
export type FlagValues<T extends Readonly<Record<string, FlagSpec>>> = {
  [K in keyof T]?: FlagValue<T[K]>;
};

/** What {@linkcode parseFlags} found: the flags, and the other words in order. */
export interface ParsedFlags<T extends Readonly<Record<string, FlagSpec>>> {
  values: FlagValues<T>;
  positionals: string[];
}

/** A command line that the flags do not allow; its message is one line. */
export class FlagError extends Error {
  override name = "FlagError";
}

/**
 * Parses `args` against `specs`.
 *
 * @throws {FlagError} "Unknown option --bogus" and the like.
 *
 * @example Flags, values and positionals
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * import assert from "node:assert/strict";
 * const { values, positionals } = parseFlags(["-vv", "-c5", "--json", "tcp", "port", "80"], {
 *   verbose: { type: "boolean", short: "v", multiple: true },
 *   count: { type: "string", short: "c" },
 *   json: { type: "boolean" },
 * }, true);
 * assert.deepEqual({ ...values }, { verbose: [true, true], count: "5", json: true });
 * assert.deepEqual(positionals, ["tcp", "port", "80"]);
 * ```
 *
 * @example An unknown flag
 * ```ts
 * import { FlagError, parseFlags } from "./flags.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseFlags(["--bogus"], {}, true), FlagError);
 * ```
 */
export function parseFlags<const T extends Readonly<Record<string, FlagSpec>>>(
  args: readonly string[],
  specs: T,
  allowPositionals: boolean,
): ParsedFlags<T> {
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.short !== undefined) byShort.set(spec.short, name);
  }
  const values: Record<string, unknown> = Object.create(null);
  const positionals: string[] = [];
  const positional = (word: string) => {
    if (!allowPositionals) {
      throw new FlagError(`Unexpected argument "${word}": this command takes no positionals`);
    }
    positionals.push(word);
  };
  const specOf = (name: string) => Object.hasOwn(specs, name) ? specs[name] : undefined;
  const set = (name: string, raw: string, value: string | undefined, inline: boolean) => {
    const spec = specOf(name);
    if (spec === undefined) throw new FlagError(`Unknown option ${raw}`);
    const names = spec.short === undefined ? `--${name}` : `-${spec.short}, --${name}`;
    let kept: string | true;
    if (spec.type === "string") {
      if (value === undefined) throw new FlagError(`Option ${names} needs a value`);
      if (!inline && value.length > 1 && value[0] === "-") {
        const short = spec.short === undefined ? "" : ` or -${spec.short}${value}`;
        throw new FlagError(
          `Option ${names} needs a value: "${value}" looks like an option; write --${name}=${value}${short} to give it`,
        );
      }
      kept = value;
    } else {
      if (value !== undefined) throw new FlagError(`Option ${names} takes no value`);
      kept = true;
    }
    if (spec.multiple) {
      const list = values[name] as (string | true)[] | undefined;
      if (list === undefined) values[name] = [kept];
      else list.push(kept);
    } else {
      values[name] = kept;
    }
  };

  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === "--") {
      for (const rest of args.slice(i + 1)) positional(rest);
      break;
    }
    if (word.length < 2 || word[0] !== "-") {
      positional(word);
    } else if (word[1] !== "-") {
      // -n, -nvalue, -abc: a string flag takes the rest of the word as its value, else the
      // next word; a boolean flag lets the next letter be a flag of its own.
      for (let at = 1; at < word.length; at++) {
        const letter = word[at]!;
        const name = byShort.get(letter) ?? letter;
        if (specOf(name)?.type !== "string") {
          set(name, `-${letter}`, undefined, false);
        } else if (at + 1 < word.length) {
          set(name, `-${letter}`, word.slice(at + 1), true);
          break;
        } else {
          i++;
          set(name, `-${letter}`, args[i], false);
        }
      }
    } else {
      // As parseArgs: an "=" right after the dashes belongs to the name.
      const equals = word.indexOf("=", 3);
      if (equals >= 0) {
        set(word.slice(2, equals), word.slice(0, equals), word.slice(equals + 1), true);
      } else {
        const name = word.slice(2);
        if (specOf(name)?.type === "string") {
          i++;
          set(name, word, args[i], false);
        } else {
          set(name, word, undefined, false);
        }
      }
    }
  }
  return { values: values as FlagValues<T>, positionals };
}
