/** The inventory's thin I/O layer: read the file, validate, and turn issues into FILE:LINE:COL lines. */
import { open } from "node:fs/promises";
import { KvmhaError, readFailure } from "../../lib/errors.js";
import type { Inventory } from "./model.js";
import { type InventoryIssue, type Place, validateInventory } from "./validate.js";

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
  /** Where each entry is (`nodes.hv1`, `guests.web1`, `cluster`…), for errors found later. */
  readonly places: ReadonlyMap<string, Place>;
}

/** Validates inventory text read from `file` (the name is only used in messages). */
export function checkInventoryText(file: string, text: string): LoadedInventory {
  const result = validateInventory(text);
  const warnings = result.warnings.map((w) =>
    formatIssue(file, { ...w, message: `warning: ${w.message}` }),
  );
  if (!result.ok)
    throw new InventoryError([...result.errors.map((e) => formatIssue(file, e)), ...warnings]);
  return { inventory: result.inventory, warnings, places: result.places };
}

/**
 * The most an inventory may hold: a 32-node cluster with a thousand guests is some 150 KiB. More
 * is a mistake (the wrong file, /dev/zero), said at once instead of read until memory runs out.
 */
export const MAX_INVENTORY_BYTES = 1 << 20;

/** The file's text, at most MAX_INVENTORY_BYTES of it; undefined when there is more. */
async function readBounded(file: string): Promise<string | undefined> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(MAX_INVENTORY_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return length > MAX_INVENTORY_BYTES ? undefined : buffer.toString("utf8", 0, length);
  } finally {
    await handle.close();
  }
}

export async function loadInventory(file: string): Promise<LoadedInventory> {
  let text: string | undefined;
  try {
    text = await readBounded(file);
  } catch (err) {
    throw new InventoryError([`${file}: cannot read the inventory: ${readFailure(err)}`]);
  }
  if (text === undefined)
    throw new InventoryError([
      `${file}: the inventory is larger than ${MAX_INVENTORY_BYTES / 1024} KiB; expected one cluster's description (a 32-node cluster with a thousand guests is some 150 KiB)`,
    ]);
  return checkInventoryText(file, text);
}
