/**
 * `kvmha plan INVENTORY`: what `kvmha apply` would change, and what Pacemaker would then do;
 * changes nothing. One command line with apply's (commands/apply.ts).
 */
import { type ApplyIo, planCommand, runPlan } from "./apply.js";

export { planCommand };

export async function main(args: readonly string[], io?: ApplyIo): Promise<number> {
  return runPlan(planCommand, false, args, io);
}
