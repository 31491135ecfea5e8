/** What every format's rendering shares: stable ids, the notes, the scripts' head, guest ops. */
import { commentText } from "./escape.js";
import type { GuestResource, Plan, StonithDevice } from "./plan.js";
import { type Fragment, fill, fragment, type Template } from "./template.js";

/** ids of the constraints keeping each IPMI device off its node (stable; docs/templates.md). */
export function avoidId(device: string, node: string): string {
  return `${device}-avoids-${node}`;
}

/** The constraint keeping a device off the node it fences, as the format spells it (`word`). */
export function avoidConstraint(
  t: Template,
  d: StonithDevice,
  word: (s: string) => Fragment,
): Fragment[] {
  if (d.avoids === undefined) return [];
  return [
    fill(t, "avoid", {
      constraint: word(avoidId(d.id, d.avoids)),
      device: word(d.id),
      node: word(d.avoids),
    }),
  ];
}

/** Why stonith-timeout has its value, for the comments of every format. */
export function stonithTimeoutNote(plan: Plan): string {
  const s = plan.stonithTimeout;
  if (s.worstNode === "") return `${s.seconds} s`;
  return `${s.seconds} s: the longest fencing is ${s.worstNode}'s, every level failing (${s.sum}), + 20%, rounded up to 10 s`;
}

/**
 * A script's head (`part`: pcs's "header", the apply scripts' "apply"): which cluster, from which
 * inventory; and for a two-node cluster, what corosync.conf's quorum section needs.
 */
export function scriptHead(t: Template, plan: Plan, source: string, part: string): Fragment[] {
  const head = [
    fill(t, part, { cluster: commentText(plan.cluster), inventory: commentText(source) }),
  ];
  if (plan.twoNode !== undefined)
    head.push(
      fill(t, "two-node", {
        preferred: commentText(plan.twoNode.preferred),
        delay: fragment(String(plan.twoNode.delay)),
      }),
    );
  return head;
}

/** A guest's operations, each as the format spells it (`word`), with what else its "op" needs. */
export function guestOps(
  t: Template,
  g: GuestResource,
  word: (s: string) => Fragment,
  more: Readonly<Record<string, Fragment>> = {},
): Fragment[] {
  return g.ops.map((o) =>
    fill(t, "op", {
      ...more,
      name: word(o.name),
      interval: fragment(String(o.interval)),
      timeout: fragment(String(o.timeout)),
    }),
  );
}
