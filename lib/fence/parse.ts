/**
 * The two ways a fence agent receives its options (fence-agents API):
 * - command line, GNU style: `-a 10.0.0.1`, `-a10.0.0.1`, `--ip=10.0.0.1`, `--ip 10.0.0.1`, `-vv`,
 *   unique long-option prefixes, `--` ends options;
 * - no arguments at all: `key=value` lines on stdin (how Pacemaker calls agents), `#` comments,
 *   the last duplicate wins, unknown keys warned about and ignored, booleans 1/yes/on/true and
 *   0/no/off/false.
 * Both produce the same thing: values keyed by each option's current name.
 */
import { UsageError } from "../errors.js";
import { bounded, printable } from "../log.js";
import { FALSE_WORDS, type OptionSpec, TRUE_WORDS, longName, takesValue } from "./options.js";

export interface RawInput {
  /** Option values by current name; flags are "1" or "0". */
  readonly values: Map<string, string>;
  /** How many times -v/--verbose was given (command line) or 1 for verbose=1 (stdin). */
  readonly verboseCount: number;
  /** Non-fatal parse problems, to be logged once logging is set up. Never contain values. */
  readonly warnings: string[];
  readonly source: "argv" | "stdin";
}

/** Looks options up by every name a user may type. */
export class OptionIndex {
  private readonly byKey = new Map<string, OptionSpec>();
  private readonly byShort = new Map<string, OptionSpec>();
  private readonly byLong = new Map<string, OptionSpec>();

  constructor(readonly specs: readonly OptionSpec[]) {
    for (const spec of specs) {
      for (const key of [spec.name, ...(spec.aliases ?? [])]) this.claim(this.byKey, key, spec);
      this.claim(this.byLong, longName(spec), spec);
      if (spec.short !== undefined) this.claim(this.byShort, spec.short, spec);
    }
  }

  private claim(map: Map<string, OptionSpec>, key: string, spec: OptionSpec): void {
    const other = map.get(key);
    // A clash is a bug in an agent's declaration, caught by the unit tests of every agent.
    if (other !== undefined && other !== spec)
      throw new Error(`option name '${key}' declared twice (${other.name}, ${spec.name})`);
    map.set(key, spec);
  }

  /** stdin keys: current names and aliases, with '-' and '_' interchangeable. */
  byStdinKey(key: string): OptionSpec | undefined {
    return this.byKey.get(key.replace(/-/g, "_")) ?? this.byLong.get(key.replace(/_/g, "-"));
  }

  byShortLetter(letter: string): OptionSpec | undefined {
    return this.byShort.get(letter);
  }

  /** Exact long name, else a unique prefix, as GNU getopt allows. */
  byLongName(name: string): OptionSpec | undefined {
    const exact = this.byLong.get(name);
    if (exact !== undefined) return exact;
    const candidates = [...this.byLong.keys()].filter((long) => long.startsWith(name));
    if (candidates.length > 1) {
      throw new UsageError(
        `Parse error: option --${name} is ambiguous (${candidates.map((c) => `--${c}`).join(", ")})`,
      );
    }
    return candidates.length === 1 ? this.byLong.get(candidates[0] as string) : undefined;
  }
}

export function parseArgv(args: readonly string[], index: OptionIndex): RawInput {
  const values = new Map<string, string>();
  const warnings: string[] = [];
  const leftovers: string[] = [];
  let verboseCount = 0;

  const set = (spec: OptionSpec, value: string | undefined, shown: string): void => {
    if (spec.name === "verbose") verboseCount += 1;
    if (takesValue(spec)) {
      if (value === undefined)
        throw new UsageError(`Parse error: option ${shown} requires argument`);
      values.set(spec.name, value);
      return;
    }
    if (value === undefined) {
      values.set(spec.name, "1");
      return;
    }
    const word = value.toLowerCase();
    if (TRUE_WORDS.has(word)) values.set(spec.name, "1");
    else if (FALSE_WORDS.has(word)) values.set(spec.name, "0");
    else
      throw new UsageError(`Parse error: option ${shown} takes no value other than true or false`);
  };

  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] as string;
    if (arg === "--") {
      leftovers.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = index.byLongName(name);
      if (spec === undefined) throw new UsageError(`Parse error: option --${name} not recognized`);
      let value = eq === -1 ? undefined : arg.slice(eq + 1);
      if (value === undefined && takesValue(spec)) {
        value = args[i + 1];
        i += 1;
      }
      set(spec, value, `--${longName(spec)}`);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // A cluster of short options: flags may be grouped, the first one taking a value ends it.
      for (let j = 1; j < arg.length; j += 1) {
        const letter = arg[j] as string;
        const spec = index.byShortLetter(letter);
        if (spec === undefined)
          throw new UsageError(`Parse error: option -${letter} not recognized`);
        if (takesValue(spec)) {
          let value: string | undefined = arg.slice(j + 1);
          if (value === "") {
            value = args[i + 1];
            i += 1;
          }
          set(spec, value, `-${letter}`);
          break;
        }
        set(spec, undefined, `-${letter}`);
      }
      continue;
    }
    leftovers.push(arg);
  }
  if (leftovers.length > 0)
    warnings.push(`Unused arguments on command line: ${leftovers.length} argument(s) ignored`);
  return { values, verboseCount, warnings, source: "argv" };
}

/** Unknown stdin keys named one by one; past that, counted. Noise must not become a flood. */
const MAX_NAMED_UNKNOWN = 10;
/** A key longer than this is cut in its warning. */
const MAX_KEY_SHOWN = 64;

export function parseStdin(text: string, index: OptionIndex): RawInput {
  const values = new Map<string, string>();
  const warnings: string[] = [];
  let unknown = 0;
  let withoutEq = 0;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq === -1) {
      // Not an option at all; perhaps a password pasted on a line of its own: never echo it.
      withoutEq += 1;
      continue;
    }
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1);
    // Pacemaker never quotes, but admins testing by hand do.
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    const spec = index.byStdinKey(key);
    if (spec === undefined) {
      // Only the key (the value may be a secret under a misspelt name), escaped and cut short.
      unknown += 1;
      if (unknown <= MAX_NAMED_UNKNOWN)
        warnings.push(
          `Parse error: Ignoring unknown option '${printable(bounded(key, MAX_KEY_SHOWN))}'`,
        );
      continue;
    }
    if (takesValue(spec)) {
      values.set(spec.name, value);
      continue;
    }
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) values.set(spec.name, "1");
    else if (FALSE_WORDS.has(word)) values.set(spec.name, "0");
    else
      warnings.push(
        `Parse error: Ignoring option '${key}' because it does not have a boolean value`,
      );
  }
  if (unknown > MAX_NAMED_UNKNOWN)
    warnings.push(
      `Parse error: Ignoring ${unknown - MAX_NAMED_UNKNOWN} more unknown options (${unknown} in all)`,
    );
  if (withoutEq > 0)
    warnings.push(
      `Parse error: Ignoring ${withoutEq === 1 ? "a line" : `${withoutEq} lines`} without '='`,
    );
  const verboseCount = values.get("verbose") === "1" ? 1 : 0;
  return { values, verboseCount, warnings, source: "stdin" };
}
