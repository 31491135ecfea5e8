/**
 * `kvmha render INVENTORY [--format pcs|crmsh|cib|all] [--output DIR] [--templates DIR]`: the
 * inventory validated (every problem as FILE:LINE:COL), then rendered into pcs, crmsh and CIB XML
 * configurations. The logic is in topology/inventory and topology/render; this is the command line.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../lib/errors.js";
import { InventoryError } from "../topology/inventory/load.js";
import { detectGeneration } from "../topology/render/detect.js";
import { describeGeneration, type Generation } from "../topology/render/generation.js";
import { type RenderedFile, loadForRender, renderFormat } from "../topology/render/render.js";
import { defaultTemplateDir, type Format, TEMPLATE_FILES } from "../topology/render/templates.js";

const USAGE = `usage: kvmha render INVENTORY [--format pcs|crmsh|cib|all] [--output DIR] [--templates DIR] [--pacemaker 2|3]
  Validates INVENTORY (YAML) and renders it.
  --format     pcs (default without --output), crmsh, cib, or all (default with --output)
  --output     write the files into DIR (created if its parent exists) instead of printing one format
  --templates  read the templates from DIR instead of the installed crm-templates
  --pacemaker  render for Pacemaker 2 (pcs 0.11, crmsh 4.4) or 3 (pcs 0.12, crmsh 5); default: the
               inventory's cluster.pacemaker, else the live cluster's, else this machine's pacemakerd's
`;

interface Args {
  inventory: string;
  format: Format | "all";
  output: string | undefined;
  templates: string | undefined;
  pacemaker: Generation | undefined;
}

function parseArgs(args: readonly string[]): Args | "help" {
  let inventory: string | undefined;
  let format: string | undefined;
  let output: string | undefined;
  let templates: string | undefined;
  let pacemaker: Generation | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? "";
    const eq = arg.indexOf("=");
    const [flag, inline] =
      arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined || v === "") throw new UsageError(`${flag} needs a value\n${USAGE}`, 2);
      return v;
    };
    if (flag === "-h" || flag === "--help") return "help";
    else if (flag === "--format" || flag === "-f") format = value();
    else if (flag === "--output" || flag === "-o") output = value();
    else if (flag === "--templates") templates = value();
    else if (flag === "--pacemaker") {
      const v = value();
      if (v !== "2" && v !== "3")
        throw new UsageError(`--pacemaker '${v}' is not 2 or 3\n${USAGE}`, 2);
      pacemaker = v === "3" ? 3 : 2;
    } else if (flag.startsWith("-") && flag !== "-")
      throw new UsageError(`unknown option '${flag}'\n${USAGE}`, 2);
    else if (inventory === undefined) inventory = arg;
    else throw new UsageError(`one inventory only (got '${inventory}' and '${arg}')\n${USAGE}`, 2);
  }
  if (inventory === undefined) throw new UsageError(`no inventory given\n${USAGE}`, 2);
  const formats = [...Object.keys(TEMPLATE_FILES), "all"];
  const chosen = format ?? (output === undefined ? "pcs" : "all");
  if (!formats.includes(chosen))
    throw new UsageError(`--format '${chosen}' is not one of ${formats.join(", ")}\n${USAGE}`, 2);
  if (chosen === "all" && output === undefined)
    throw new UsageError(`--format all writes several files: give --output DIR\n${USAGE}`, 2);
  return { inventory, format: chosen as Format | "all", output, templates, pacemaker };
}

/** Where the command writes (the process's streams; tests pass their own). */
export interface RenderIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: RenderIo = {
  out: (text) => {
    process.stdout.write(text);
  },
  err: (text) => {
    process.stderr.write(text);
  },
};

export async function main(args: readonly string[], io: RenderIo = processIo): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed === "help") {
    io.out(USAGE);
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
  let pacemaker = parsed.pacemaker ?? loaded.inventory.cluster.pacemaker;
  if (pacemaker === undefined) {
    const detected = await detectGeneration();
    pacemaker = detected.pacemaker;
    io.err(
      `kvmha render: for ${describeGeneration(pacemaker)}, from ${detected.how} (--pacemaker 2|3 or cluster.pacemaker chooses)\n`,
    );
  }
  const templateDir = parsed.templates ?? defaultTemplateDir();
  if (templateDir === undefined)
    throw new UsageError(
      "cannot find the crm-templates directory: give it with --templates DIR",
      2,
    );
  const formats: Format[] =
    parsed.format === "all" ? (Object.keys(TEMPLATE_FILES) as Format[]) : [parsed.format];
  const files: RenderedFile[] = [];
  for (const f of formats)
    files.push(
      ...(await renderFormat(loaded.inventory, f, templateDir, parsed.inventory, { pacemaker })),
    );
  if (parsed.output === undefined) {
    // One format on stdout: its main file (apply scripts are only written with --output).
    io.out(files[0]?.text ?? "");
    return 0;
  }
  const outputDir = parsed.output;
  const write = async (path: string, text: string, mode: number): Promise<void> => {
    try {
      await writeFile(path, text, { mode });
      await chmod(path, mode);
    } catch (err) {
      throw new UsageError(
        `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
        1,
      );
    }
  };
  // Not recursive: Node's recursive mkdir never returns for a path under /proc (it retries ENOENT).
  try {
    await mkdir(outputDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EEXIST")
      throw new UsageError(
        `cannot create ${outputDir}: ${code ?? "error"}${code === "ENOENT" ? " (its parent directory must exist)" : ""}`,
        1,
      );
  }
  for (const file of files) {
    const path = join(outputDir, file.name);
    await write(path, file.text, file.executable ? 0o755 : 0o644);
    io.err(`kvmha render: wrote ${path}\n`);
  }
  return 0;
}
