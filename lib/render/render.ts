/** Rendering one format: plan, template, files. */
import { InventoryError, formatIssue } from "../inventory/load.js";
import type { Inventory } from "../inventory/model.js";
import { renderCib } from "./cib.js";
import { renderCrmsh } from "./crmsh.js";
import { renderPcs } from "./pcs.js";
import { type Plan, PlanError, planCluster } from "./plan.js";
import { type Format, loadTemplate } from "./templates.js";

export interface RenderedFile {
  readonly name: string;
  readonly text: string;
  readonly executable: boolean;
}

/** The plan, with its errors in the inventory's FILE:LINE:COL form. */
export function planOrError(inventory: Inventory, source: string): Plan {
  try {
    return planCluster(inventory);
  } catch (err) {
    if (err instanceof PlanError) throw new InventoryError([formatIssue(source, { line: err.line, col: err.col, message: err.message })]);
    throw err;
  }
}

export async function renderFormat(inventory: Inventory, format: Format, templateDir: string, source: string): Promise<RenderedFile[]> {
  const plan = planOrError(inventory, source);
  const template = await loadTemplate(templateDir, format);
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
