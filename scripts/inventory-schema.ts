// Writes crm-templates/inventory.schema.json from the inventory's field table
// (topology/inventory/fields.ts), formatted as the tree's JSON is:
//
//   node --import tsx scripts/inventory-schema.ts
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inventorySchema } from "../topology/inventory/schema.js";

const file = fileURLToPath(new URL("../crm-templates/inventory.schema.json", import.meta.url));
writeFileSync(file, `${JSON.stringify(inventorySchema(), null, 2)}\n`);
execFileSync("npx", ["--no-install", "prettier", "--write", "--log-level", "warn", file], {
  stdio: "inherit",
});
