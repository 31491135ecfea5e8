/**
 * What differs between the two Pacemaker generations kvmha renders for, in one place: Pacemaker 2
 * (2.1: pcs 0.11, crmsh 4.4; Debian 12, RHEL 9) and Pacemaker 3 (3.0: pcs 0.12, crmsh 5; Debian 13,
 * RHEL 10, SLES 16). The plan is the same configuration for both; only these spellings change.
 * Measured with each generation's own tools (test/integration/render.test.ts applies every sample
 * with both):
 *
 * - pcs 0.12 deprecates a bare score (`constraint location add ID RSC NODE -- -INFINITY`,
 *   `constraint colocation add A with B INFINITY`) for `score=`, which pcs 0.11.5 rejects.
 * - pcmk_host_map is read by the same parser in 2.1.5 and 3.0.0 (build_port_aliases() in
 *   daemons/fenced/fenced_commands.c): `:` and `=` end a node name unless escaped with `\`, and
 *   backslashes are removed from the plug. So a `unit:outlet` plug is escaped in both. What 3.0
 *   changed is whom the plug reaches: an agent whose metadata advertises neither `port` nor `plug`
 *   gets none (2.1 passed `port=` regardless); kvmha's fence agents advertise both.
 *   (test/integration/render-hostmap.test.ts proves both with each generation's pacemaker-fenced.)
 *
 * Nothing else we write differs: the CIB elements (primitives, meta and instance attributes,
 * rsc_location/order/colocation, fencing levels, rsc_defaults) validate against both pacemaker-3.x
 * and pacemaker-4.0 schemas.
 */
import type { Fragment } from "./template.js";
import { fragment } from "./template.js";

export type Generation = 2 | 3;

/** What kvmha renders for when neither the inventory, the command line nor a cluster says. */
export const DEFAULT_GENERATION: Generation = 2;

export interface HostMapEntry {
  readonly node: string;
  readonly outlets: readonly string[];
}

/**
 * pcmk_host_map as `generation`'s fencer reads it: `node:outlet,outlet;node:…`, a `:` (or `=`, or
 * `\`) inside an outlet escaped with `\`. The one place the spelling is decided: both generations
 * parse it alike today (see above); a generation that did not would change only this function.
 */
export function hostMapFor(generation: Generation, entries: readonly HostMapEntry[]): string {
  switch (generation) {
    case 2:
    case 3: {
      const escape = (outlet: string): string => outlet.replace(/[\\:=]/g, (c) => `\\${c}`);
      return entries.map((e) => `${e.node}:${e.outlets.map(escape).join(",")}`).join(";");
    }
  }
}

/**
 * A constraint's score as `pcs constraint location add` and `pcs constraint colocation add` take
 * it: a bare word for pcs 0.11 (after `--` when negative, or pcs reads it as an option), `score=`
 * for pcs 0.12 (which deprecates the bare word).
 */
export function pcsScore(generation: Generation, score: string): Fragment {
  if (generation === 3) return fragment(`score=${score}`);
  return fragment(score.startsWith("-") ? `-- ${score}` : score);
}

/** For comments and messages: "Pacemaker 3 (pcs 0.12, crmsh 5)". */
export function describeGeneration(generation: Generation): string {
  return generation === 3 ? "Pacemaker 3 (pcs 0.12, crmsh 5)" : "Pacemaker 2 (pcs 0.11, crmsh 4.4)";
}
