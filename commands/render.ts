import { NotImplementedError } from "../lib/errors.js";

/** `kvmha render`: placeholder until it is built (issue 5). */
export async function main(_args: readonly string[]): Promise<number> {
  throw new NotImplementedError("kvmha render", 1);
}
