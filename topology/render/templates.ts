/**
 * The templates rendering fills: built into the executable (scripts/build.mjs puts the texts of
 * crm-templates/ into the bundle), or an adapted copy from a directory (`--templates DIR`). This is
 * the only I/O of rendering besides writing the output.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UsageError } from "../../lib/errors.js";
import { parseTemplate, type Template, TemplateError } from "./template.js";

export const TEMPLATE_FILES = {
  pcs: "pcs.sh.tmpl",
  crmsh: "crmsh.crm.tmpl",
  cib: "cib.xml.tmpl",
} as const;
export type Format = keyof typeof TEMPLATE_FILES;

/** Replaced at bundle time by scripts/build.mjs with crm-templates/'s texts, by file name. */
declare const __KVMHA_TEMPLATES__: Readonly<Record<string, string>> | undefined;

/** Where the templates are in the sources (tests and tsx runs read them from there). */
export const SOURCE_TEMPLATE_DIR = "crm-templates";

/** A built-in template's text: the bundle's copy, or the sources' file when run from them. */
export function builtInTemplateText(format: Format): string {
  const file = TEMPLATE_FILES[format];
  if (typeof __KVMHA_TEMPLATES__ !== "undefined") {
    const text = __KVMHA_TEMPLATES__[file];
    if (text === undefined) throw new Error(`the build holds no template ${file}`);
    return text;
  }
  return readFileSync(resolve(import.meta.dirname, "../..", SOURCE_TEMPLATE_DIR, file), "utf8");
}

function parsed(file: string, text: string): Template {
  try {
    return parseTemplate(file, text);
  } catch (err) {
    if (err instanceof TemplateError) throw new UsageError(err.message);
    throw err;
  }
}

/** The template of `format`: from `dir` when given (an adapted copy), else the built-in one. */
export async function loadTemplate(dir: string | undefined, format: Format): Promise<Template> {
  if (dir === undefined)
    return parsed(`${TEMPLATE_FILES[format]} (built in)`, builtInTemplateText(format));
  const file = join(dir, TEMPLATE_FILES[format]);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(
      `cannot read template ${file} (--templates DIR must hold ${Object.values(TEMPLATE_FILES).join(", ")})`,
    );
  }
  return parsed(file, text);
}
