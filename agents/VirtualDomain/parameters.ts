/**
 * VirtualDomain's parameters: the reference agent's (same names, defaults and meaning), then the
 * few it lacks; and how the actions read them.
 */
import type { OcfContext } from "../../lib/ocf/agent.js";
import type { ParamSpec } from "../../lib/ocf/params.js";

const p = (spec: ParamSpec): ParamSpec => spec;

export const parameters: readonly ParamSpec[] = [
  p({
    name: "config",
    type: "string",
    required: true,
    unique: true,
    default: "",
    shortdesc: "Virtual domain configuration file",
    longdesc:
      "Absolute path to the libvirt configuration file (domain XML) for this virtual domain. The domain's name and UUID are read from it.",
  }),
  p({
    name: "hypervisor",
    type: "string",
    shortdesc: "Hypervisor URI",
    longdesc:
      "Hypervisor URI to connect to (see libvirt's URI formats). The default is system dependent: virsh's own default, as 'virsh --quiet uri' prints it.",
  }),
  p({
    name: "force_stop",
    type: "boolean",
    default: "0",
    reloadable: true,
    shortdesc: "Always force shutdown on stop",
    longdesc:
      "Always forcefully shut down (destroy) the domain on stop. By default a graceful shutdown is tried first and destroy is used only when it does not finish in time. Set this only if the domain (or the virtualization backend) does not support graceful shutdown.",
  }),
  p({
    name: "migration_transport",
    type: "string",
    default: "",
    reloadable: true,
    shortdesc: "Remote hypervisor transport",
    longdesc:
      "Transport used to connect to the remote hypervisor while migrating (see libvirt's documentation). Omitted: libvirt's default transport.",
  }),
  p({
    name: "migration_user",
    type: "string",
    reloadable: true,
    shortdesc: "Remote username for the remoteuri",
    longdesc:
      "The user name in the remote libvirt URI for migration; omitted: none (root). Ignored when remoteuri is set.",
  }),
  p({
    name: "migration_downtime",
    type: "integer",
    default: "0",
    reloadable: true,
    shortdesc: "Live migration downtime",
    longdesc: "Maximum downtime during live migration, in milliseconds (0: libvirt's default).",
  }),
  p({
    name: "migration_speed",
    type: "integer",
    default: "0",
    reloadable: true,
    shortdesc: "Live migration speed",
    longdesc:
      "Live migration speed limit per resource in MiB/s (0: no limit), passed as 'virsh migrate --bandwidth'.",
  }),
  p({
    name: "migration_network_suffix",
    type: "string",
    default: "",
    reloadable: true,
    shortdesc: "Migration network host name suffix",
    longdesc:
      "Use a dedicated migration network: the suffix is appended to the target node's host name (before its first dot) to form the migration target, e.g. node1 with suffix -mig becomes node1-mig.",
  }),
  p({
    name: "migrateuri",
    type: "string",
    reloadable: true,
    shortdesc: "Custom migrateuri for migration state transfer",
    longdesc:
      "The migration URI for the state transfer; %n is replaced by the target node's name. Default: derived from migration_network_suffix and migrateport.",
  }),
  p({
    name: "migrate_options",
    type: "string",
    reloadable: true,
    shortdesc: "live migrate options",
    longdesc:
      "Extra options for 'virsh migrate'; a --migrateuri=URI among them is used as migrateuri.",
  }),
  p({
    name: "monitor_scripts",
    type: "string",
    default: "",
    reloadable: true,
    shortdesc: "space-separated list of monitor scripts",
    longdesc:
      "Space-separated list of programs run (without arguments) by monitor while the domain runs, each bounded by the op deadline; any exit code but 0 fails the monitor with the program's output. start waits until they succeed too.",
  }),
  p({
    name: "autoset_utilization_cpu",
    type: "boolean",
    default: "true",
    reloadable: true,
    shortdesc: "Enable auto-setting the CPU utilization of the resource",
    longdesc:
      "Set the resource's cpu utilization attribute to the domain's vCPU count (the config file's <vcpu>, its current= count when given) when the monitor finds it running. Written with crm_resource only when it differs from what this node last wrote.",
  }),
  p({
    name: "autoset_utilization_host_memory",
    type: "boolean",
    default: "true",
    reloadable: true,
    shortdesc: "Enable auto-setting the host_memory utilization of the resource",
    longdesc:
      "Set the resource's host_memory utilization attribute to the domain's maximum memory in MiB (the config file's <memory>) when the monitor finds it running. Written with crm_resource only when it differs from what this node last wrote.",
  }),
  p({
    name: "autoset_utilization_hv_memory",
    type: "boolean",
    default: "true",
    reloadable: true,
    shortdesc: "Enable auto-setting the hv_memory utilization of the resource",
    longdesc:
      "Set the resource's hv_memory utilization attribute to the domain's maximum memory in MiB (the config file's <memory>) when the monitor finds it running. Written with crm_resource only when it differs from what this node last wrote.",
  }),
  p({
    name: "unset_utilization_cpu",
    type: "boolean",
    default: "false",
    reloadable: true,
    shortdesc: "Enable auto-removing the CPU utilization of the resource",
    longdesc:
      "When autoset_utilization_cpu is off, delete the resource's cpu utilization attribute when the monitor finds the domain running (once; not again on every monitor).",
  }),
  p({
    name: "unset_utilization_host_memory",
    type: "boolean",
    default: "false",
    reloadable: true,
    shortdesc: "Enable auto-removing the host_memory utilization of the resource",
    longdesc:
      "When autoset_utilization_host_memory is off, delete the resource's host_memory utilization attribute when the monitor finds the domain running (once; not again on every monitor).",
  }),
  p({
    name: "unset_utilization_hv_memory",
    type: "boolean",
    default: "false",
    reloadable: true,
    shortdesc: "Enable auto-removing the hv_memory utilization of the resource",
    longdesc:
      "When autoset_utilization_hv_memory is off, delete the resource's hv_memory utilization attribute when the monitor finds the domain running (once; not again on every monitor).",
  }),
  p({
    name: "migrateport",
    type: "integer",
    reloadable: true,
    shortdesc: "Port for migrateuri",
    longdesc:
      "The port for the migration URI when migration_network_suffix is used; the reference agent picks one at random in 49152-49215.",
  }),
  p({
    name: "remoteuri",
    type: "string",
    reloadable: true,
    shortdesc: "Custom remoteuri to communicate with a remote hypervisor",
    longdesc:
      "The libvirt URI of the target node's hypervisor for migration; %n is replaced by the target node's name. Default: derived from hypervisor, migration_transport, migration_user and migration_network_suffix.",
  }),
  p({
    name: "save_config_on_stop",
    type: "boolean",
    shortdesc: "Save running VM's config back to its config file",
    reloadable: true,
    longdesc:
      "Save the running domain's configuration (virsh dumpxml --migratable --security-info: the running configuration, hot-plugged devices included) back to the config file on stop, before migrating away and after migrating here, when it differs; written to a temporary file in the same directory and renamed over it, keeping its mode. Unlike the reference agent, not on every monitor.",
  }),
  p({
    name: "sync_config_on_stop",
    type: "boolean",
    shortdesc: "Save running VM's config back to its config file",
    reloadable: true,
    longdesc:
      "Implies save_config_on_stop; after the config file was saved, 'csync2 -x CONFIG' copies it to the other nodes (bounded; a failure is a warning). Needs csync2.",
  }),
  p({
    name: "snapshot",
    type: "string",
    default: "",
    shortdesc: "Restore state on start/stop",
    longdesc:
      "Directory where stop saves the running domain's state (virsh save to DIR/NAME.state, within the stop timeout less the destroy reserve; a failure falls back to shutdown) and start restores it from (virsh restore, then the file is removed; a failed restore fails start and keeps the file). The directory must be the same for every node (shared storage): a state restored on another node than the disks' last writer corrupts them. Incompatible with force_stop.",
  }),
  p({
    name: "backingfile",
    type: "string",
    default: "",
    shortdesc:
      "If the VM is wanted to work with Copy-On-Write mode, this is the backing file to use (with its full path)",
    longdesc:
      "Copy-on-write mode, as the reference agent: start creates the qcow2 image CONFIGDIR/NAME.qcow2 (the config file's name up to its first dot) on this backing file (qemu-img create -f qcow2 -F FORMAT -b BACKINGFILE) when it is missing or empty, or at every start with stateless; then defines the domain from the config file (virsh define: it stays defined after stop) and starts it. The config's disk must point at that image. Needs qemu-img.",
  }),
  p({
    name: "stateless",
    type: "boolean",
    default: "false",
    shortdesc:
      "If set to true, the (<vmname>.qcow2) file will be re-created at each start, based on the backing file (if defined)",
    longdesc:
      "With backingfile: create a fresh qcow2 image at every start, discarding what the guest wrote. Needs backingfile.",
  }),
  p({
    name: "copyindirs",
    type: "string",
    default: "",
    shortdesc: "List of directories for the virt-copy-in before booting the VM stateless mode.",
    longdesc:
      "With backingfile: space-separated files and directories copied into the guest's root (virt-copy-in -d NAME [-c HYPERVISOR] ... /) each time a fresh image was created (stateless, or a new image), after the domain is defined and before it starts; bounded by the start timeout. Needs virt-copy-in (libguestfs-tools).",
  }),
  p({
    name: "shutdown_mode",
    type: "string",
    default: "",
    reloadable: true,
    shortdesc: "Instruct virsh to use specific shutdown mode",
    longdesc:
      "Passed as 'virsh shutdown --mode MODE' on a graceful stop (acpi, agent, initctl, signal, paravirt; see 'virsh help shutdown'). Empty: no --mode, libvirt's default. Unlike the reference agent, this one honours it. A mode the domain does not support fails the request, and stop goes on to destroy.",
  }),
  p({
    name: "start_resources",
    type: "boolean",
    default: "false",
    shortdesc: "Ensure the needed virtual storage pools and networks are started",
    longdesc:
      "Before start (and, on the target's hypervisor, before a migration) start the storage pools (<source pool=...>) and virtual networks (<source network=...>) the domain XML names when they are not active; an active pool is refreshed. Each virsh call is bounded; a pool or network that cannot be started fails the action with the reason.",
  }),
  // Not in the reference agent: what users lack there.
  p({
    name: "migration_postcopy",
    type: "boolean",
    default: "false",
    reloadable: true,
    shortdesc: "Post-copy live migration",
    longdesc:
      "Migrate in post-copy mode (virsh migrate --postcopy): after a pre-copy phase the guest runs on the target at once and its remaining memory follows on demand, so a busy guest's migration always ends. The switch happens after the first pre-copy pass (--postcopy-after-precopy), or after migration_postcopy_after seconds. Once switched, the migration cannot be aborted any more: a failure of the network then leaves the guest paused (post-copy failed) and the monitor fails. Needs userfaultfd on the target.",
  }),
  p({
    name: "migration_postcopy_after",
    type: "integer",
    default: "0",
    reloadable: true,
    shortdesc: "Seconds of pre-copy before post-copy",
    longdesc:
      "With migration_postcopy: switch to post-copy (virsh migrate-postcopy) after this many seconds of pre-copy; 0 switches after the first pre-copy pass.",
  }),
  p({
    name: "migration_auto_converge",
    type: "boolean",
    default: "false",
    reloadable: true,
    shortdesc: "Auto-converge live migration",
    longdesc:
      "Throttle the guest's vCPUs while it migrates when its memory changes faster than it is copied (virsh migrate --auto-converge).",
  }),
  p({
    name: "migration_time_limit",
    type: "integer",
    default: "0",
    reloadable: true,
    shortdesc: "Migration time limit (s)",
    longdesc:
      "Abort the migration job (virsh domjobabort) when it has not finished after this many seconds, even if the migrate_to timeout is longer; the guest goes on running on the source and migrate_to fails. 0: only the migrate_to timeout (less a reserve for the abort) limits it. A migration already switched to post-copy cannot be aborted and is waited for.",
  }),
  p({
    name: "guest_agent_check",
    type: "boolean",
    default: "false",
    reloadable: true,
    shortdesc: "Check the guest agent in monitor",
    longdesc:
      "Monitor (and start, migrate_from) also ping the QEMU guest agent (virsh qemu-agent-command guest-ping, up to 5 s and within the operation's timeout); no answer fails the monitor with the reason. Needs the org.qemu.guest_agent.0 channel in the domain and qemu-guest-agent running in the guest. Off by default (the monitor then runs a single virsh).",
  }),
];

/** A string parameter's value, "" when unset. */
export function text(ctx: OcfContext, name: string): string {
  return ctx.params.string(name) ?? "";
}

/** Is a string parameter set to something (not unset, not empty)? */
export function given(ctx: OcfContext, name: string): boolean {
  return text(ctx, name) !== "";
}

/** A whole number of a parameter, 0 when unset or not one. */
export function count(ctx: OcfContext, name: string): number {
  const v = text(ctx, name).trim();
  return /^\d+$/.test(v) ? Number.parseInt(v, 10) : 0;
}

/** A space-separated list parameter's items. */
export function words(ctx: OcfContext, name: string): string[] {
  return text(ctx, name)
    .split(/\s+/)
    .filter((x) => x !== "");
}

/** The hypervisor URI; undefined: virsh's default. */
export function hypervisor(ctx: OcfContext): string | undefined {
  return given(ctx, "hypervisor") ? text(ctx, "hypervisor") : undefined;
}
