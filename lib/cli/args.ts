/**
 * The command line of kvmha's own subcommands (`kvmha render`, `kvmha check`): one declaration per
 * subcommand gives its parsing (Node's util.parseArgs, strict), its `--help`, its line in kvmha(8)
 * and its exit codes. The fence agents keep their own parser (lib/fence/parse.ts): they must take
 * fence-agents' getopt forms and key=value stdin exactly (docs/fence-framework.md).
 *
 * On top of util.parseArgs: unique prefixes of long options (`--form` for `--format`, as getopt
 * and the agents allow), empty values refused, `--help`/`--version` everywhere, and every usage
 * error one line and exit 2.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import { printable } from "../log.js";
import { EXIT_USAGE } from "./usage.js";

export { EXIT_USAGE, wrapList } from "./usage.js";

export interface CliOption {
  /** Long name, without dashes. */
  readonly name: string;
  readonly short?: string;
  /** Placeholder of the value (`DIR`); absent for a flag. */
  readonly value?: string;
  readonly help: string;
}

export interface CliCommand {
  /** `render`: run as `kvmha render`. */
  readonly name: string;
  readonly summary: string;
  /** What follows `kvmha NAME` in the synopsis. */
  readonly synopsis: string;
  /** A paragraph after the synopsis. */
  readonly description: string;
  readonly options: readonly CliOption[];
  /** How many positional arguments are allowed (0 or 1 here). */
  readonly positionals: { readonly min: number; readonly max: number; readonly name: string };
  readonly exitCodes: readonly (readonly [number, string])[];
}

/** Every subcommand takes these. */
export const COMMON_OPTIONS: readonly CliOption[] = [
  { name: "help", short: "h", help: "print this help and exit" },
  { name: "version", short: "V", help: "print kvmha's version and exit" },
];

export type ParsedValues = Readonly<Record<string, string | boolean | undefined>>;

export type Parsed =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | {
      readonly kind: "run";
      readonly values: ParsedValues;
      readonly positionals: readonly string[];
    };

function allOptions(command: CliCommand): readonly CliOption[] {
  return [...command.options, ...COMMON_OPTIONS];
}

/** `--form` → `--format` when it is a unique prefix; an ambiguous one is a usage error. */
function expandPrefixes(command: CliCommand, args: readonly string[]): string[] {
  const names = allOptions(command).map((o) => o.name);
  const out: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const m = /^--([^=]+)(=.*)?$/s.exec(arg);
    if (m === null || names.includes(m[1] as string)) {
      out.push(arg);
      continue;
    }
    const matches = names.filter((n) => n.startsWith(m[1] as string));
    if (matches.length > 1)
      throw new UsageError(
        `option --${printable(m[1] as string)} is ambiguous (${matches.map((n) => `--${n}`).join(", ")}) (kvmha ${command.name} --help)`,
        EXIT_USAGE,
      );
    out.push(matches.length === 1 ? `--${matches[0]}${m[2] ?? ""}` : arg);
  }
  return out;
}

/** Parses `args` against `command`; every problem is a one-line UsageError with exit code 2. */
export function parseCommandLine(command: CliCommand, args: readonly string[]): Parsed {
  const hint = `(kvmha ${command.name} --help)`;
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const o of allOptions(command))
    options[o.name] = {
      type: o.value === undefined ? "boolean" : "string",
      ...(o.short === undefined ? {} : { short: o.short }),
    };
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({
      args: expandPrefixes(command, args),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as { code?: string }).code;
    const text = err instanceof Error ? err.message : String(err);
    const option = /'(-[^']*)'/.exec(text)?.[1] ?? "";
    const shown = printable(option.replace(/ <value>$/, ""));
    const why =
      code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
        ? `unknown option ${shown}`
        : code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
          ? /argument missing/.test(text)
            ? `${shown} needs a value`
            : `${shown} takes no value`
          : printable(text.split("\n")[0] ?? text);
    throw new UsageError(`${why} ${hint}`, EXIT_USAGE);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { kind: "help" };
  if (values.version === true) return { kind: "version" };
  for (const o of command.options)
    if (o.value !== undefined && values[o.name] === "")
      throw new UsageError(`--${o.name} needs a value, got an empty one ${hint}`, EXIT_USAGE);
  const { min, max, name } = command.positionals;
  if (parsed.positionals.length > max)
    throw new UsageError(
      `unexpected argument '${printable(parsed.positionals[max] ?? "")}' ${hint}`,
      EXIT_USAGE,
    );
  if (parsed.positionals.length < min) throw new UsageError(`no ${name} given ${hint}`, EXIT_USAGE);
  return { kind: "run", values, positionals: parsed.positionals };
}

/** `-f, --format FORMAT` */
export function optionSynopsis(o: CliOption): string {
  const long = `--${o.name}${o.value === undefined ? "" : ` ${o.value}`}`;
  return o.short === undefined ? long : `-${o.short}, ${long}`;
}

const COLUMN = 26;
const WIDTH = 80;

function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** `--help`: synopsis, description, options and exit codes, within 80 columns. */
export function helpText(command: CliCommand): string {
  const out: string[] = [`usage: kvmha ${command.name} ${command.synopsis}`];
  out.push(...wrap(command.description, 2).map((l) => `  ${l}`), "", "options:");
  for (const o of allOptions(command)) {
    const head = `  ${optionSynopsis(o)}`;
    const [first, ...rest] = wrap(o.help, COLUMN);
    if (head.length + 1 > COLUMN) {
      out.push(head, ...[first ?? "", ...rest].map((l) => `${" ".repeat(COLUMN)}${l}`));
    } else {
      out.push(
        `${head.padEnd(COLUMN)}${first ?? ""}`,
        ...rest.map((l) => `${" ".repeat(COLUMN)}${l}`),
      );
    }
  }
  out.push("", "exit status:");
  for (const [code, meaning] of command.exitCodes) {
    const [first, ...rest] = wrap(meaning, 6);
    out.push(`  ${String(code).padEnd(4)}${first ?? ""}`, ...rest.map((l) => `      ${l}`));
  }
  return `${out.join("\n")}\n`;
}

/** stdout's reader closed its end (`| head`): what is left unwritten is not wanted. */
function readerGone(): void {
  // nothing to do: the write's callback resolves
}

/**
 * Writes to stdout and resolves once the text is handed to the kernel. A subcommand's output can
 * be far larger than a pipe holds (a pcs script for a thousand guests, a check's JSON), and the
 * dispatcher exits as soon as the subcommand returns: Node writes to a pipe asynchronously, so
 * without this wait the reader gets the first 64 KiB and an exit status 0. A reader that went
 * away (EPIPE) is its own choice: that resolves too.
 */
export function writeStdout(text: string): Promise<void> {
  if (!process.stdout.listeners("error").includes(readerGone))
    process.stdout.on("error", readerGone);
  return new Promise((resolve) => {
    process.stdout.write(text, () => {
      resolve();
    });
  });
}

/** Where a subcommand writes: the process's streams, or a test's. */
export interface CommandIo {
  /** Resolves once the text is written (a pipe may take it in several goes). */
  out(text: string): void | Promise<void>;
  err(text: string): void;
}

export const processIo: CommandIo = {
  out: writeStdout,
  err: (text) => {
    process.stderr.write(text);
  },
};

/**
 * The common start of a subcommand: its arguments parsed by `parse` (a UsageError is one line and
 * its exit code), `--help` and `--version` answered. Returns the exit code when that is all.
 */
export async function startCommand<A>(
  command: CliCommand,
  parse: () => A | "help" | "version",
  io: CommandIo,
  version: string,
): Promise<{ readonly exit: number } | { readonly args: A }> {
  let parsed: A | "help" | "version";
  try {
    parsed = parse();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`kvmha ${command.name}: ERROR: ${err.message}\n`);
    return { exit: err.exitCode };
  }
  if (parsed === "help" || parsed === "version") {
    await io.out(parsed === "help" ? helpText(command) : `kvmha ${version}\n`);
    return { exit: 0 };
  }
  return { args: parsed };
}
