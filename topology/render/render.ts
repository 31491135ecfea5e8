/** Rendering one format: plan, template, files. */
import {
  InventoryError,
  type LoadedInventory,
  formatIssue,
  loadInventory,
} from "../inventory/load.js";
import type { Inventory } from "../inventory/model.js";
import { renderCib } from "./cib.js";
import { renderCrmsh } from "./crmsh.js";
import { renderPcs } from "./pcs.js";
import { type Generation, type Plan, PlanError, planCluster } from "./plan.js";
import { type Template, TemplateError } from "./template.js";
import { type Format, loadTemplate } from "./templates.js";
import { UsageError } from "../../lib/errors.js";

export interface RenderedFile {
  readonly name: string;
  readonly text: string;
  readonly executable: boolean;
}

/** What rendering may be told besides the inventory. */
export interface RenderOptions {
  /**
   * The Pacemaker generation to render for (the command line's --pacemaker, or what a live cluster
   * says); the inventory's cluster.pacemaker when absent, else Pacemaker 2.
   */
  readonly pacemaker?: Generation | undefined;
}

/** The plan, with its errors in the inventory's FILE:LINE:COL form. */
export function planOrError(
  inventory: Inventory,
  source: string,
  options: RenderOptions = {},
): Plan {
  try {
    return planCluster(inventory, options.pacemaker);
  } catch (err) {
    if (err instanceof PlanError)
      throw new InventoryError([
        formatIssue(source, { line: err.line, col: err.col, message: err.message }),
      ]);
    throw err;
  }
}

/**
 * The inventory read, validated and planned: what the plan refuses (a stonith_timeout below what
 * fencing can take) is one of the inventory's errors, reported the same way.
 */
export async function loadForRender(file: string): Promise<LoadedInventory> {
  const loaded = await loadInventory(file);
  try {
    planOrError(loaded.inventory, file);
  } catch (err) {
    if (err instanceof InventoryError) throw new InventoryError([...err.lines, ...loaded.warnings]);
    throw err;
  }
  return loaded;
}

export async function renderFormat(
  inventory: Inventory,
  format: Format,
  templateDir: string,
  source: string,
  options: RenderOptions = {},
): Promise<RenderedFile[]> {
  const plan = planOrError(inventory, source, options);
  const template = await loadTemplate(templateDir, format);
  try {
    return renderWith(plan, format, template, source);
  } catch (err) {
    // An adapted template that does not fit the renderer: the admin's input, said as such.
    if (err instanceof TemplateError) throw new UsageError(err.message, 1);
    throw err;
  }
}

function renderWith(
  plan: Plan,
  format: Format,
  template: Template,
  source: string,
): RenderedFile[] {
  switch (format) {
    case "pcs":
      return [{ name: "pcs.sh", text: renderPcs(plan, template, source), executable: true }];
    case "crmsh": {
      const { config, apply } = renderCrmsh(plan, template, source);
      return [
        { name: "crmsh.crm", text: config, executable: false },
        { name: "crmsh-apply.sh", text: apply, executable: true },
      ];
    }
    case "cib": {
      const { xml, apply } = renderCib(plan, template, source);
      return [
        { name: "cib.xml", text: xml, executable: false },
        { name: "cib-apply.sh", text: apply, executable: true },
      ];
    }
  }
}
