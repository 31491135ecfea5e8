/**
 * `kvmha render INVENTORY [--format pcs|crmsh|cib|all] [--output DIR] [--templates DIR]`: the
 * inventory validated (every problem as FILE:LINE:COL), then rendered into pcs, crmsh and CIB XML
 * configurations. The logic is in topology/inventory and topology/render; this is the command line
 * (declared in `renderCommand`, parsed by lib/cli/args.ts).
 */
import {
  type CliCommand,
  EXIT_USAGE,
  helpText,
  parseCommandLine,
  writeStdout,
} from "../lib/cli/args.js";
import { VERSION } from "../lib/cli/version.js";
import { UsageError } from "../lib/errors.js";
import { printable } from "../lib/log.js";
import { InventoryError } from "../topology/inventory/load.js";
import { detectGeneration } from "../topology/render/detect.js";
import { describeGeneration, type Generation } from "../topology/render/generation.js";
import {
  type RenderedFile,
  loadForRender,
  outputDirectory,
  renderFormat,
  writeRendered,
} from "../topology/render/render.js";
import { type Format, TEMPLATE_FILES } from "../topology/render/templates.js";

export const renderCommand: CliCommand = {
  name: "render",
  summary: "render an inventory into pcs, crmsh and CIB XML configurations",
  synopsis: "INVENTORY [-f pcs|crmsh|cib|all] [-o DIR] [--templates DIR]",
  description:
    "Validates INVENTORY (YAML; every problem as FILE:LINE:COL) and renders it into the configuration of its fencing topology and guests: one format on stdout, or every file into DIR.",
  options: [
    {
      name: "format",
      short: "f",
      value: "FORMAT",
      help: "pcs (the default without --output), crmsh, cib, or all (the default with --output)",
    },
    {
      name: "output",
      short: "o",
      value: "DIR",
      help: "write the files (and their apply scripts) into DIR instead of printing one format: a new directory (its parent must exist), or one only root or you can change; each file is written whole, then renamed into place",
    },
    {
      name: "templates",
      value: "DIR",
      help: "read the templates from DIR (an adapted copy of crm-templates/, installed as examples in /usr/share/kvmha) instead of the built-in ones",
    },
    {
      name: "pacemaker",
      value: "2|3",
      help: "render for Pacemaker 2 (pcs 0.11, crmsh 4.4) or 3 (pcs 0.12, crmsh 5); default: the inventory's cluster.pacemaker, else the live cluster's, else this machine's pacemakerd's",
    },
  ],
  positionals: { min: 1, max: 1, name: "inventory" },
  exitCodes: [
    [0, "rendered (warnings, if any, on stderr)"],
    [1, "the inventory has errors (each on stderr), or a file could not be read or written"],
    [2, "usage error: an unknown option, a missing inventory, a bad --format or --pacemaker"],
  ],
};

interface Args {
  inventory: string;
  format: Format | "all";
  output: string | undefined;
  templates: string | undefined;
  pacemaker: Generation | undefined;
}

function parseRenderArgs(args: readonly string[]): Args | "help" | "version" {
  const parsed = parseCommandLine(renderCommand, args);
  if (parsed.kind !== "run") return parsed.kind;
  const str = (name: string): string | undefined => {
    const v = parsed.values[name];
    return typeof v === "string" ? v : undefined;
  };
  const output = str("output");
  const formats = [...Object.keys(TEMPLATE_FILES), "all"];
  const chosen = str("format") ?? (output === undefined ? "pcs" : "all");
  if (!formats.includes(chosen))
    throw new UsageError(
      `--format '${printable(chosen)}' is not one of ${formats.join(", ")} (kvmha render --help)`,
      EXIT_USAGE,
    );
  if (chosen === "all" && output === undefined)
    throw new UsageError(
      "--format all writes several files: give --output DIR (kvmha render --help)",
      EXIT_USAGE,
    );
  const pacemaker = str("pacemaker");
  if (pacemaker !== undefined && pacemaker !== "2" && pacemaker !== "3")
    throw new UsageError(
      `--pacemaker '${printable(pacemaker)}' is not 2 or 3 (kvmha render --help)`,
      EXIT_USAGE,
    );
  return {
    inventory: parsed.positionals[0] as string,
    format: chosen as Format | "all",
    output,
    templates: str("templates"),
    pacemaker: pacemaker === undefined ? undefined : pacemaker === "3" ? 3 : 2,
  };
}

/** Where the command writes (the process's streams; tests pass their own). */
export interface RenderIo {
  /** Resolves once the text is written (a pipe may take it in several goes). */
  out(text: string): void | Promise<void>;
  err(text: string): void;
}

const processIo: RenderIo = {
  out: writeStdout,
  err: (text) => {
    process.stderr.write(text);
  },
};

export async function main(args: readonly string[], io: RenderIo = processIo): Promise<number> {
  let parsed: Args | "help" | "version";
  try {
    parsed = parseRenderArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`kvmha render: ERROR: ${err.message}\n`);
    return err.exitCode;
  }
  if (parsed === "help") {
    await io.out(helpText(renderCommand));
    return 0;
  }
  if (parsed === "version") {
    await io.out(`kvmha ${VERSION}\n`);
    return 0;
  }
  let loaded;
  try {
    loaded = await loadForRender(parsed.inventory);
  } catch (err) {
    if (!(err instanceof InventoryError)) throw err;
    io.err(err.lines.map((l) => `${l}\n`).join(""));
    const count = err.lines.filter((l) => !/^[^:]*:\d+:\d+: warning: /.test(l)).length;
    io.err(
      `kvmha render: ${parsed.inventory}: ${count} error${count === 1 ? "" : "s"}, nothing rendered\n`,
    );
    return err.exitCode;
  }
  for (const w of loaded.warnings) io.err(`${w}\n`);
  // An unsafe --output is refused before anything else is said or found out (checked again, and
  // created, when the files are written).
  if (parsed.output !== undefined) outputDirectory(parsed.output, false);
  let pacemaker = parsed.pacemaker ?? loaded.inventory.cluster.pacemaker;
  if (pacemaker === undefined) {
    const detected = await detectGeneration();
    pacemaker = detected.pacemaker;
    io.err(
      `kvmha render: for ${describeGeneration(pacemaker)}, from ${detected.how} (--pacemaker 2|3 or cluster.pacemaker chooses)\n`,
    );
  }
  const formats: Format[] =
    parsed.format === "all" ? (Object.keys(TEMPLATE_FILES) as Format[]) : [parsed.format];
  const files: RenderedFile[] = [];
  for (const f of formats)
    files.push(
      ...(await renderFormat(loaded.inventory, f, parsed.templates, parsed.inventory, {
        pacemaker,
      })),
    );
  if (parsed.output === undefined) {
    // One format on stdout: its main file (apply scripts are only written with --output).
    await io.out(files[0]?.text ?? "");
    return 0;
  }
  for (const written of writeRendered(parsed.output, files))
    io.err(`kvmha render: wrote ${written}\n`);
  return 0;
}
