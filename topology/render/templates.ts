/** Finding and reading the template files (the only I/O of rendering besides writing the output). */
import { existsSync } from "node:fs";
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

/**
 * Where the templates are when --templates is not given: next to the sources (tsx), the repository
 * of a built dist/bin/kvmha, or /usr/share/kvmha/crm-templates for an installed binary.
 */
export function defaultTemplateDir(): string | undefined {
  const here = import.meta.dirname;
  const candidates = [
    resolve(here, "../../crm-templates"),
    resolve(here, "../share/kvmha/crm-templates"),
    "/usr/share/kvmha/crm-templates",
  ];
  return candidates.find((d) => existsSync(join(d, TEMPLATE_FILES.pcs)));
}

export async function loadTemplate(dir: string, format: Format): Promise<Template> {
  const file = join(dir, TEMPLATE_FILES[format]);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(`cannot read template ${file} (give the directory with --templates)`);
  }
  try {
    return parseTemplate(file, text);
  } catch (err) {
    if (err instanceof TemplateError) throw new UsageError(err.message);
    throw err;
  }
}
