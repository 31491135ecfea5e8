/**
 * What Pacemaker 3.0 removed or deprecated, found in a CIB of either generation: read from
 * Pacemaker 3.0.0's ChangeLog and its CIB upgrade stylesheets (xml/upgrade-3.10-*.xsl, which drop
 * or rewrite each of these when a CIB is upgraded to the pacemaker-4.0 schema). A Pacemaker 2 CIB
 * holding one will lose it (or see it rewritten) on the upgrade; a cluster already on Pacemaker 3
 * ignores it. Pure: the CIB's element tree in, what it uses out; the rule (rules/generation.ts)
 * weighs it by the generation that runs the CIB.
 */
import { type Element, descendants } from "./xml.js";

export interface Removal {
  /** removed: Pacemaker 3 drops or ignores it; deprecated: it still works, and will not. */
  readonly kind: "removed" | "deprecated";
  readonly about: { readonly kind: "cluster" | "node" | "resource"; readonly id: string };
  /** What, one line: "cluster option crmd-transition-delay". */
  readonly what: string;
  /** What Pacemaker 3 does instead, or the fix, one line. */
  readonly fix: string;
}

/** Cluster options Pacemaker 3 renamed (the upgrade renames them) or dropped. */
const CLUSTER_OPTIONS: Readonly<Record<string, string | undefined>> = {
  "crmd-finalization-timeout": "join-finalization-timeout",
  "crmd-integration-timeout": "join-integration-timeout",
  "crmd-transition-delay": "transition-delay",
  "remove-after-stop": undefined,
};

const LEGACY_ROLES = new Set(["master", "slave"]);

/** Schemas Pacemaker 3 no longer reads (validate-with must be set, and not one of these). */
function oldSchema(validateWith: string | undefined): boolean {
  if (validateWith === undefined) return true;
  return /^(pacemaker-(0\.|1\.)|transitional-|pacemaker-next$)/.test(validateWith);
}

function everyElement(el: Element): Element[] {
  return [el, ...el.children.flatMap(everyElement)];
}

function nvpairs(el: Element, set: string): Element[] {
  return el.children.filter((c) => c.name === set).flatMap((s) => descendants(s, "nvpair"));
}

/** The resource an element belongs to (its nearest primitive, group, clone… id), for the subject. */
function resourceIds(resources: Element | undefined): Map<Element, string> {
  const owner = new Map<Element, string>();
  const walk = (e: Element, id: string | undefined): void => {
    const own = ["primitive", "group", "clone", "master", "bundle", "template"].includes(e.name)
      ? e.attrs.id
      : undefined;
    const here = own ?? id;
    if (here !== undefined) owner.set(e, here);
    for (const c of e.children) walk(c, here);
  };
  if (resources !== undefined) walk(resources, undefined);
  return owner;
}

export function scanPacemaker3(root: Element, configuration: Element): Removal[] {
  const out: Removal[] = [];
  const cluster = { kind: "cluster", id: "cluster" } as const;
  const validateWith = root.name === "cib" ? root.attrs["validate-with"] : "pacemaker-4.0";
  if (oldSchema(validateWith))
    out.push({
      kind: "removed",
      about: cluster,
      what: `validate-with ${validateWith ?? "(not set)"}`,
      fix: "Pacemaker 3 refuses the CIB: upgrade its schema on Pacemaker 2 first (cibadmin --upgrade --force)",
    });

  for (const el of configuration.children) {
    if (el.name === "crm_config") {
      for (const nv of nvpairs(el, "cluster_property_set")) {
        const name = nv.attrs.name ?? "";
        if (name in CLUSTER_OPTIONS) {
          const renamed = CLUSTER_OPTIONS[name];
          out.push({
            kind: "removed",
            about: cluster,
            what: `cluster option ${name}`,
            fix:
              renamed === undefined
                ? `Pacemaker 3 dropped it: remove it (pcs property set ${name}=)`
                : `Pacemaker 3 reads ${renamed} instead: pcs property set ${renamed}=${nv.attrs.value ?? ""} ${name}=`,
          });
        }
        if (name === "stonith-action" && nv.attrs.value?.toLowerCase() === "poweroff")
          out.push({
            kind: "removed",
            about: cluster,
            what: "stonith-action=poweroff",
            fix: "Pacemaker 3 dropped poweroff: pcs property set stonith-action=off",
          });
        if (name === "concurrent-fencing")
          out.push({
            kind: "deprecated",
            about: cluster,
            what: "cluster option concurrent-fencing",
            fix: "deprecated by Pacemaker 3, which fences concurrently by default: pcs property set concurrent-fencing=",
          });
      }
    }
    if (el.name === "rsc_defaults" && el.children.some((c) => c.name === "instance_attributes"))
      out.push({
        kind: "removed",
        about: cluster,
        what: "instance_attributes in rsc_defaults",
        fix: "Pacemaker 3 ignores them: resource defaults are meta attributes (pcs resource defaults update NAME=VALUE)",
      });
    if (el.name === "nodes")
      for (const n of el.children.filter((c) => c.name === "node"))
        if (n.attrs.type === "ping")
          out.push({
            kind: "removed",
            about: { kind: "node", id: n.attrs.uname ?? n.attrs.id ?? "" },
            what: "a node of type ping",
            fix: "Pacemaker 3 makes it a cluster member with every resource banned: remove it, or make it a member",
          });
  }

  const resources = configuration.children.find((c) => c.name === "resources");
  const owner = resourceIds(resources);
  const about = (e: Element): Removal["about"] => ({ kind: "resource", id: owner.get(e) ?? "" });
  for (const p of [
    ...descendants(resources ?? configuration, "primitive"),
    ...descendants(resources ?? configuration, "template"),
  ]) {
    const cls = p.attrs.class?.toLowerCase();
    if (cls === "nagios" || cls === "upstart")
      out.push({
        kind: "removed",
        about: about(p),
        what: `a ${cls}-class resource`,
        fix: `Pacemaker 3 dropped ${cls} resources (the upgrade deletes them): use a systemd or ocf resource`,
      });
    if (cls === "ocf" && p.attrs.provider === "pacemaker" && p.attrs.type === "o2cb")
      out.push({
        kind: "removed",
        about: about(p),
        what: "ocf:pacemaker:o2cb",
        fix: "Pacemaker 3 no longer ships it: use ocf:heartbeat:o2cb",
      });
  }
  for (const m of descendants(resources ?? configuration, "master"))
    out.push({
      kind: "removed",
      about: about(m),
      what: "a master resource",
      fix: "Pacemaker 3 dropped <master>: a promotable clone (pcs resource promotable, crmsh clone … meta promotable=true)",
    });
  for (const b of descendants(resources ?? configuration, "bundle")) {
    if (b.children.some((c) => c.name === "rkt"))
      out.push({
        kind: "removed",
        about: about(b),
        what: "a bundle with rkt",
        fix: "Pacemaker 3 dropped rkt bundles (the upgrade deletes them): use podman or docker",
      });
    for (const c of b.children)
      if (c.attrs.masters !== undefined)
        out.push({
          kind: "removed",
          about: about(b),
          what: "bundle option masters",
          fix: "Pacemaker 3 reads promoted-max instead",
        });
  }
  if (resources !== undefined) {
    for (const e of everyElement(resources)) {
      for (const nv of nvpairs(e, "meta_attributes")) {
        const name = nv.attrs.name ?? "";
        const value = nv.attrs.value ?? "";
        if (name === "restart-type")
          out.push({
            kind: "removed",
            about: about(e),
            what: "meta restart-type",
            fix: "Pacemaker 3 dropped it: remove it (a resource restarts with what depends on it)",
          });
        if (name === "migration-threshold" && /^\s*-/.test(value))
          out.push({
            kind: "removed",
            about: about(e),
            what: `migration-threshold=${value}`,
            fix: "Pacemaker 3 treats a negative migration-threshold as invalid and uses the default (INFINITY): set 0 or a positive count",
          });
      }
    }
    for (const op of descendants(resources, "op")) {
      const options = new Map<string, string>(Object.entries(op.attrs));
      for (const nv of nvpairs(op, "meta_attributes"))
        options.set(nv.attrs.name ?? "", nv.attrs.value ?? "");
      for (const name of ["can_fail", "can-fail", "role_after_failure"])
        if (options.has(name))
          out.push({
            kind: "removed",
            about: about(op),
            what: `operation option ${name}`,
            fix: `Pacemaker 3 dropped it: remove it from the ${op.attrs.name ?? ""} operation (on-fail says what a failure does)`,
          });
      if (options.has("record-pending"))
        out.push({
          kind: "deprecated",
          about: about(op),
          what: "operation option record-pending",
          fix: "deprecated by Pacemaker 3 (pending operations are always recorded): remove it",
        });
      if (LEGACY_ROLES.has((op.attrs.role ?? "").toLowerCase()))
        out.push({
          kind: "deprecated",
          about: about(op),
          what: `role ${op.attrs.role ?? ""}`,
          fix: "use Promoted/Unpromoted (pcs 0.12 refuses the legacy role names)",
        });
    }
  }

  const constraints = configuration.children.find((c) => c.name === "constraints");
  for (const c of constraints?.children ?? []) {
    const id = c.attrs.id ?? "";
    const subject = { kind: "cluster", id: "cluster" } as const;
    if (c.children.some((x) => x.name === "lifetime"))
      out.push({
        kind: "removed",
        about: subject,
        what: `constraint ${id} with a lifetime`,
        fix: "Pacemaker 3 dropped lifetime elements: give the constraint a rule with a date expression instead",
      });
    for (const a of ["rsc-instance", "with-rsc-instance", "first-instance", "then-instance"])
      if (c.attrs[a] !== undefined)
        out.push({
          kind: "removed",
          about: subject,
          what: `constraint ${id} option ${a}`,
          fix: "Pacemaker 3 dropped clone-instance constraints: remove the option",
        });
    if (c.name === "rsc_location" && c.children.filter((x) => x.name === "rule").length > 1)
      out.push({
        kind: "removed",
        about: subject,
        what: `location constraint ${id} with several top-level rules`,
        fix: "Pacemaker 3 takes one rule per location constraint: one constraint per rule (the upgrade splits it)",
      });
    for (const a of ["rsc-role", "with-rsc-role", "role"])
      if (LEGACY_ROLES.has((c.attrs[a] ?? "").toLowerCase()))
        out.push({
          kind: "deprecated",
          about: subject,
          what: `constraint ${id} ${a}=${c.attrs[a] ?? ""}`,
          fix: "use Promoted/Unpromoted (pcs 0.12 refuses the legacy role names)",
        });
  }
  for (const nv of descendants(configuration, "nvpair"))
    if (nv.attrs["id-ref"] !== undefined && nv.attrs.name !== undefined)
      out.push({
        kind: "removed",
        about: cluster,
        what: `nvpair ${nv.attrs.id ?? nv.attrs["id-ref"]} with both id-ref and name`,
        fix: "Pacemaker 3 ignores the name of an nvpair that refers to another: give it its own id and value",
      });
  for (const d of descendants(configuration, "date_spec"))
    if (d.attrs.moon !== undefined)
      out.push({
        kind: "removed",
        about: cluster,
        what: `date_spec ${d.attrs.id ?? ""} with moon`,
        fix: "Pacemaker 3 dropped moon phases from rules: remove it",
      });
  return out;
}

/**
 * Which Pacemaker runs this CIB: the DC's version (dc-version, written by the running cluster),
 * else the schema (pacemaker-4.x is Pacemaker 3's; a Pacemaker 3 cluster may still run an
 * un-upgraded pacemaker-3.x CIB, which only dc-version tells), else unknown (a file without
 * either, such as kvmha render's XML).
 */
export function cibGeneration(
  validateWith: string | undefined,
  dcVersion: string | undefined,
): { readonly pacemaker: 2 | 3 | undefined; readonly from: string } {
  const major = /^(\d+)\./.exec(dcVersion ?? "")?.[1];
  if (major !== undefined)
    return { pacemaker: Number(major) >= 3 ? 3 : 2, from: `dc-version ${dcVersion ?? ""}` };
  const schema = /^pacemaker-(\d+)\./.exec(validateWith ?? "")?.[1];
  if (schema !== undefined && Number(schema) >= 4)
    return { pacemaker: 3, from: `validate-with ${validateWith ?? ""}` };
  if (schema !== undefined) return { pacemaker: 2, from: `validate-with ${validateWith ?? ""}` };
  return { pacemaker: undefined, from: "neither dc-version nor validate-with" };
}
