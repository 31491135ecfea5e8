/** The inventory's thin I/O layer: read the file, validate, and turn issues into FILE:LINE:COL lines. */
import { readFile } from "node:fs/promises";
import { KvmhaError, readFailure } from "../../lib/errors.js";
import type { Inventory } from "./model.js";
import { type InventoryIssue, validateInventory } from "./validate.js";

/** An inventory that cannot be used: every problem, one per line. */
export class InventoryError extends KvmhaError {
  readonly exitCode = 1;
  constructor(readonly lines: readonly string[]) {
    super(lines.join("\n"));
  }
}

export function formatIssue(file: string, issue: InventoryIssue): string {
  return `${file}:${issue.line}:${issue.col}: ${issue.message}`;
}

export interface LoadedInventory {
  readonly inventory: Inventory;
  /** Formatted warnings (FILE:LINE:COL: warning: …). */
  readonly warnings: readonly string[];
}

/** Validates inventory text read from `file` (the name is only used in messages). */
export function checkInventoryText(file: string, text: string): LoadedInventory {
  const result = validateInventory(text);
  const warnings = result.warnings.map((w) =>
    formatIssue(file, { ...w, message: `warning: ${w.message}` }),
  );
  if (!result.ok)
    throw new InventoryError([...result.errors.map((e) => formatIssue(file, e)), ...warnings]);
  return { inventory: result.inventory, warnings };
}

export async function loadInventory(file: string): Promise<LoadedInventory> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new InventoryError([`${file}: cannot read the inventory: ${readFailure(err)}`]);
  }
  return checkInventoryText(file, text);
}
