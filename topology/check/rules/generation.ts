/** What Pacemaker 3 removed or deprecated (pacemaker3.ts), weighed by the Pacemaker that runs the CIB. */
import { isStonith } from "../devices.js";
import {
  type Rule,
  type Subject,
  cluster,
  deviceSubject,
  finding,
  nodeSubject,
  resourceSubject,
} from "../findings.js";

export const pacemaker3: Rule = (ctx) => {
  const onThree = ctx.pacemaker.major === 3;
  return ctx.cib.removals.map((r) => {
    const device = ctx.deviceById.get(r.about.id);
    const subject: Subject =
      r.about.kind === "cluster"
        ? cluster()
        : r.about.kind === "node"
          ? nodeSubject(r.about.id)
          : device !== undefined && isStonith(device)
            ? deviceSubject(r.about.id)
            : resourceSubject(r.about.id);
    if (r.kind === "removed" && onThree)
      return finding(
        "pacemaker3-unsupported",
        subject,
        `${r.what}: this cluster runs Pacemaker 3 (${ctx.pacemaker.from}), which no longer supports it`,
        { fix: r.fix },
      );
    return finding(
      "pacemaker3-upgrade",
      subject,
      r.kind === "removed"
        ? `${r.what}: Pacemaker 3 removed it (an upgrade drops or rewrites it)`
        : `${r.what}: deprecated in Pacemaker 3`,
      { fix: r.fix },
    );
  });
};
