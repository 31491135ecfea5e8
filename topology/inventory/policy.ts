/**
 * The inventory's policy sections, read through the field table like every other (walker.ts):
 * what every guest gets (guest_defaults), the clones guests depend on (dependencies), a guest's
 * own meta attributes and dependencies, a Pacemaker Remote node's connection. Their references
 * (a guest requiring a dependency that is not declared) are checked here, where both are known.
 */
import type { Node as YamlNode } from "yaml";
import { DEFAULTS, type Dependencies, type Guest, type RemoteConnection } from "./model.js";
import { type MapView, type Named, type Walker, didYouMean } from "./walker.js";

/** What every guest gets unless it says otherwise. */
export interface GuestDefaults {
  readonly migrationThreshold: number;
  readonly failureTimeout: number;
}

export function guestDefaults(w: Walker, node: YamlNode | undefined): GuestDefaults {
  const m = node === undefined ? undefined : w.map(node, "guest_defaults", "guest_defaults");
  return {
    migrationThreshold:
      (m && w.integer(m, "migration_threshold")?.value) ?? DEFAULTS.guestMigrationThreshold,
    failureTimeout: (m && w.integer(m, "failure_timeout")?.value) ?? DEFAULTS.guestFailureTimeout,
  };
}

export function dependencies(w: Walker, node: YamlNode | undefined): Named<Dependencies> {
  const m = node === undefined ? undefined : w.map(node, "dependencies", "dependencies");
  if (m === undefined) return { value: { storage: [], libvirt: undefined }, at: node };
  const storage = w.words(m, "storage")?.value ?? [];
  const libvirt = w.text(m, "libvirt");
  if (libvirt !== undefined && storage.includes(libvirt.value))
    w.error(
      libvirt.at,
      `dependencies.libvirt: '${libvirt.value}' is also listed under dependencies.storage; expected the libvirt daemon's own clone`,
    );
  return { value: { storage, libvirt: libvirt?.value }, at: node };
}

/** Every dependency's name: storage first (a guest needs its disks before libvirt may start it). */
export function dependencyNames(d: Dependencies): string[] {
  return [...d.storage, ...(d.libvirt === undefined ? [] : [d.libvirt])];
}

type GuestPolicy = Pick<
  Guest,
  "priority" | "targetRole" | "migrationThreshold" | "failureTimeout" | "requires" | "waive"
>;

/** A guest's meta attributes and dependencies, its own or the defaults. */
export function guestPolicy(
  w: Walker,
  m: MapView,
  defaults: GuestDefaults,
  deps: Dependencies,
): GuestPolicy {
  const declared = dependencyNames(deps);
  const requires = w.words(m, "requires");
  for (const [i, name] of (requires?.value ?? []).entries())
    if (!declared.includes(name))
      w.error(
        m.get("requires"),
        `${m.field("requires")}[${i}]: '${name}' is not declared under dependencies${didYouMean(name, declared)}; expected ${declared.length === 0 ? "a dependencies section naming it" : `one of ${declared.join(", ")}`}`,
      );
  const role = w.choice(m, "target_role")?.value;
  return {
    priority: w.integer(m, "priority")?.value,
    targetRole: role === "Started" || role === "Stopped" ? role : undefined,
    migrationThreshold: w.integer(m, "migration_threshold")?.value ?? defaults.migrationThreshold,
    failureTimeout: w.integer(m, "failure_timeout")?.value ?? defaults.failureTimeout,
    // In the order they are declared, whatever order the guest lists them in.
    requires:
      requires === undefined ? declared : declared.filter((d) => requires.value.includes(d)),
    waive: w.words(m, "waive")?.value ?? [],
  };
}

/** A Pacemaker Remote node's connection. */
export function remoteConnection(w: Walker, node: YamlNode, path: string): RemoteConnection {
  const m = w.map(node, "remote", path);
  return {
    address: (m && w.text(m, "address")?.value) ?? undefined,
    port: (m && w.integer(m, "port")?.value) ?? undefined,
    reconnectInterval:
      (m && w.integer(m, "reconnect_interval")?.value) ?? DEFAULTS.remoteReconnectInterval,
  };
}
