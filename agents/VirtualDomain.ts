/**
 * ocf:kvmha:VirtualDomain — a libvirt guest as a Pacemaker resource, with the parameters of
 * resource-agents' ocf:heartbeat:VirtualDomain (same names, defaults, meaning) and a few it lacks
 * (post-copy, auto-converge, a migration time limit, a guest-agent check): start, stop,
 * monitor/status, migrate_to/migrate_from, validate-all, reload-agent, meta-data
 * (docs/VirtualDomain.md).
 *
 * Safety rules, where they differ from the reference agent:
 * - every virsh call and every loop is bounded by the op deadline;
 * - stop never reports success while libvirt still shows the guest: graceful shutdown (honouring
 *   shutdown_mode) within the op timeout less a destroy reserve, then destroy, then a check;
 * - the domain's name and UUID are kept in HA_RSCTMP at start, so a stop or probe whose config
 *   file has gone still asks libvirt instead of assuming the guest is stopped;
 * - libvirt's failure states (crashed, paused on an I/O error) are failures, not "running";
 * - migrate_to aborts the migration job (domjobabort) before its deadline, leaving the guest here
 *   (never once it is in post-copy); migrate_from checks the guest runs here and never waits
 *   without bound;
 * - start keeps a persistent definition of the same name instead of undefining it;
 * - utilization is written only when it changed, so a steady-state monitor runs one virsh.
 */
import { execFile } from "node:child_process";
// fs.promises is read at each use, not imported from node:fs/promises: this module is in the
// startup snapshot, and node:fs/promises loaded there adds ~350 KB that every start of every agent,
// fence agents included, deserializes (docs/build.md).
import {
  type BigIntStats,
  accessSync,
  existsSync,
  constants as fsConstants,
  promises as fs,
  readFileSync,
  stat as statCallback,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { Deadline, sleep } from "../lib/deadline.js";
import type { OcfAgent, OcfContext } from "../lib/ocf/agent.js";
import {
  OcfExit,
  OcfGenericError,
  OcfNotConfigured,
  OcfNotInstalled,
  type OcfStatus,
} from "../lib/ocf/codes.js";
import type { ParamSpec } from "../lib/ocf/params.js";
import { imageFormat, overlayImage } from "../lib/libvirt/images.js";
import { diskLockManager, qemuConfPath } from "../lib/libvirt/qemu-conf.js";
import {
  type DomainXmlInfo,
  DomainXmlError,
  parseDomainXml,
  withoutRuntimeId,
} from "../lib/libvirt/domain-xml.js";
import {
  type DomainRecord,
  type FileIdentity,
  cachedConfig,
  decodeDomainRecord,
  encodeDomainRecord,
  fileIdentity,
  stableIdentity,
} from "../lib/libvirt/domain-record.js";
import {
  UTILIZATION_ATTRS,
  crmResourceArgs,
  parseUtilizationRecord,
  recordAfter,
  type UtilizationRecord,
  utilizationOps,
  utilizationValues,
} from "../lib/libvirt/utilization.js";
import { MigrationConfigError, type MigrationPlan, migrationPlan } from "../lib/libvirt/migrate.js";
import {
  type DomainState,
  isConnectionFailure,
  isNotFound,
  isNotRunning,
  parseDomstate,
} from "../lib/libvirt/state.js";
import { type VirshResult, virsh, virshMessage } from "../lib/libvirt/virsh.js";
import { type LocalEndpoint, localEndpoint, remoteDomainState } from "../lib/libvirt/remote.js";
import { messageOf } from "../lib/errors.js";

/** Time kept back from a graceful shutdown for destroy and the final check (at least). */
export const DESTROY_RESERVE_MS = 15_000;
/** How often a graceful shutdown request is repeated (a power button pressed during boot is lost). */
export const SHUTDOWN_REPEAT_MS = 10_000;
/** How often states are polled while waiting. */
const POLL_MS = 500;
/** Kept back from ctx.deadline so that our own reason is printed rather than the runner's cut-off. */
const REPORT_MS = 300;

const p = (spec: ParamSpec): ParamSpec => spec;

const parameters: readonly ParamSpec[] = [
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

/** The domain the resource is about: from the config file, else from the record start left. */
interface Domain {
  readonly name: string;
  readonly uuid: string | undefined;
  readonly type: string | undefined;
  /** Where it came from, for log lines. */
  readonly source: "config" | "record";
  /** The parsed config file (source "config" only). */
  readonly xml?: DomainXmlInfo;
  /** The identity of the config file `xml` was read from (source "config" only). */
  readonly file?: FileIdentity;
}

function recordFile(ctx: OcfContext): string {
  return join(ctx.rscTmp, `VirtualDomain-${ctx.instance}.domain`);
}

// HA_RSCTMP is local (/run), so its small files are read synchronously: no thread pool round
// trips on the monitor's path. The config file is not: it may sit on a shared filesystem that
// hangs, and only an asynchronous read leaves the op deadline able to fire.
async function readDomainRecord(ctx: OcfContext): Promise<DomainRecord | undefined> {
  try {
    return decodeDomainRecord(readFileSync(recordFile(ctx), "utf8"));
  } catch {
    return undefined;
  }
}

async function writeRecord(ctx: OcfContext, d: Domain): Promise<void> {
  const file = recordFile(ctx);
  try {
    await fs.mkdir(ctx.rscTmp, { recursive: true });
    await fs.writeFile(
      `${file}.tmp`,
      encodeDomainRecord({
        name: d.name,
        uuid: d.uuid,
        type: d.type,
        config: ctx.params.string("config"),
        file: d.file,
        xml: d.xml,
      }),
      { mode: 0o600 },
    );
    await fs.rename(`${file}.tmp`, file);
  } catch (err) {
    ctx.log.warning(`cannot record the domain in ${file}: ${messageOf(err)}`);
  }
}

type ConfigRead = { ok: true; domain: Domain } | { ok: false; reason: string; unreadable: boolean };

function fromXml(info: DomainXmlInfo, file: FileIdentity | undefined): Domain {
  return { name: info.name, uuid: info.uuid, type: info.type, source: "config", xml: info, file };
}

function unreadable(path: string, err: unknown): ConfigRead {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  return {
    ok: false,
    unreadable: true,
    reason: `configuration file ${path} does not exist or is not readable${code === "" ? "" : ` (${code})`}`,
  };
}

/**
 * Reads and parses the config file. Its identity (for the monitor's cache) comes from the
 * descriptor the text is read from, and only when it had not changed for a while (stableIdentity).
 */
async function readConfig(ctx: OcfContext): Promise<ConfigRead> {
  const path = ctx.params.string("config") ?? "";
  let xml: string;
  let file: FileIdentity | undefined;
  try {
    const fh = await fs.open(path, "r");
    try {
      file = stableIdentity(await fh.stat({ bigint: true }), Date.now());
      xml = await fh.readFile("utf8");
    } finally {
      await fh.close();
    }
  } catch (err) {
    return unreadable(path, err);
  }
  try {
    return { ok: true, domain: fromXml(await parseDomainXml(xml), file) };
  } catch (err) {
    const why = err instanceof DomainXmlError ? err.message : String(err);
    return { ok: false, unreadable: false, reason: `configuration file ${path}: ${why}` };
  }
}

interface Found {
  readonly domain: Domain | undefined;
  readonly configProblem: string | undefined;
  /** The record on disk already says what `domain` says, config identity included. */
  readonly recorded: boolean;
}

/**
 * stat(2) of the config file without node:fs's promises API, whose first use costs a steady-state
 * monitor a few ms of loading (it is not in the startup snapshot, which every agent loads).
 * Asynchronous all the same: the file may sit on a shared filesystem that hangs.
 */
function statBigInt(path: string): Promise<BigIntStats> {
  return new Promise((resolve, reject) =>
    statCallback(path, { bigint: true }, (err, st) => (err === null ? resolve(st) : reject(err))),
  );
}

/**
 * The domain from config, else from the record; undefined (with the config's problem) when
 * neither. `cached` (monitor): when the config file is the very file the record was written from
 * (same device, inode, size, mtime and ctime), what the parser read then is used and the file is
 * not parsed again; any change to it and it is.
 */
async function findDomain(ctx: OcfContext, cached = false): Promise<Found> {
  const record = await readDomainRecord(ctx);
  if (cached) {
    const path = ctx.params.string("config") ?? "";
    let now: FileIdentity | undefined;
    try {
      now = fileIdentity(await statBigInt(path));
    } catch {
      now = undefined;
    }
    const xml = now === undefined ? undefined : cachedConfig(record, path, now);
    if (xml !== undefined)
      return { domain: fromXml(xml, now), configProblem: undefined, recorded: true };
  }
  const c = await readConfig(ctx);
  if (c.ok) return { domain: c.domain, configProblem: undefined, recorded: false };
  return {
    domain:
      record === undefined
        ? undefined
        : { name: record.name, uuid: record.uuid, type: record.type, source: "record" },
    configProblem: c.reason,
    recorded: false,
  };
}

function uri(ctx: OcfContext): string | undefined {
  const u = ctx.params.string("hypervisor");
  return u === undefined || u === "" ? undefined : u;
}

/** A deadline for one step: the op deadline less the time kept for our own reason. */
function stepDeadline(ctx: OcfContext, ms?: number): Deadline {
  const d = Deadline.in(ctx.deadline.remainingMs() - REPORT_MS);
  return ms === undefined ? d : d.within(ms);
}

function run(
  ctx: OcfContext,
  args: readonly string[],
  deadline: Deadline = stepDeadline(ctx),
): Promise<VirshResult> {
  ctx.log.debug(`virsh ${args.join(" ")}`);
  return virsh(args, deadline, { uri: uri(ctx), env: ctx.childEnv(), signal: ctx.signal });
}

function secs(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** A virsh call that did not give an answer: why, in one line. */
function noAnswer(ctx: OcfContext, r: VirshResult, what: string): string {
  if (r.spawnError !== undefined) return `${what}: cannot run virsh (${r.spawnError})`;
  if (r.timedOut && r.ms === 0) return `${what}: no time left to ask libvirt`;
  if (r.timedOut)
    return `${what}: virsh did not answer within ${secs(r.ms)} (libvirtd hung or unreachable${uri(ctx) === undefined ? "" : ` at ${uri(ctx)}`})`;
  return `${what}: ${virshMessage(r)}`;
}

type Observation =
  | { kind: "state"; state: DomainState }
  | { kind: "gone" }
  | { kind: "error"; reason: string; connection: boolean; notStarted: boolean };

/** The most of a step's time the socket gets before virsh is asked instead (and never over half). */
const REMOTE_MS = 5000;

function readOr(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** libvirtd's socket when the hypervisor URI names a local one that virsh would use too. */
function libvirtdEndpoint(ctx: OcfContext): LocalEndpoint | undefined {
  return localEndpoint(uri(ctx), {
    exists: existsSync,
    clientConf: () => readOr("/etc/libvirt/libvirt.conf"),
    euid: process.geteuid?.() ?? -1,
  });
}

/**
 * The domain's state, its absence, or why libvirt could not say: asked of libvirtd over its
 * socket where it can be (lib/libvirt/remote.ts: no process), else or failing that with
 * `virsh domstate --reason`, whose answers and errors are the reference.
 */
async function observe(
  ctx: OcfContext,
  d: Domain,
  deadline: Deadline = stepDeadline(ctx),
): Promise<Observation> {
  const endpoint = libvirtdEndpoint(ctx);
  if (endpoint !== undefined) {
    const a = await remoteDomainState(
      endpoint,
      d.name,
      deadline.within(Math.min(REMOTE_MS, deadline.remainingMs() / 2)),
    );
    if (a.kind === "state") {
      ctx.log.debug(`libvirtd at ${endpoint.socket}: domain ${d.name} ${a.line}`);
      return { kind: "state", state: parseDomstate(a.line) };
    }
    if (a.kind === "gone") {
      ctx.log.debug(`libvirtd at ${endpoint.socket}: no domain ${d.name}`);
      return { kind: "gone" };
    }
    ctx.log.debug(`asking virsh instead: ${a.why}`);
  }
  const r = await run(ctx, ["domstate", "--reason", d.name], deadline);
  if (r.code === 0) {
    const state = parseDomstate(r.stdout);
    return { kind: "state", state };
  }
  const message = virshMessage(r);
  if (r.code !== undefined && isNotFound(message)) return { kind: "gone" };
  return {
    kind: "error",
    reason: noAnswer(ctx, r, `state of domain ${d.name}`),
    connection: r.timedOut || r.code === undefined || isConnectionFailure(message),
    notStarted: r.timedOut && r.ms === 0,
  };
}

/**
 * The state, retried while libvirt has none yet ("no state") or cannot be reached, until `deadline`.
 * Returns the last observation.
 */
async function settledState(ctx: OcfContext, d: Domain, deadline: Deadline): Promise<Observation> {
  let last: Observation | undefined;
  for (;;) {
    const o = await observe(ctx, d, deadline);
    // A call that had no time to run says nothing new: keep the previous answer as the reason.
    if (o.kind === "error" && o.notStarted && last !== undefined) return last;
    last = o;
    if (o.kind === "gone" || (o.kind === "state" && o.state.health !== "unknown")) return o;
    if (deadline.remainingMs() < 2000) return o;
    ctx.log.info(
      o.kind === "state"
        ? `domain ${d.name} has no definite state yet (${o.state.state}), asking again`
        : `${o.reason}; asking again`,
    );
    await sleep(1000, deadline);
  }
}

/**
 * Is a QEMU process for this domain running? Used only when libvirtd cannot be asked, for QEMU
 * domains (as the reference agent's pid_status): QEMU's argv holds `-name guest=NAME,…`.
 */
export async function qemuProcessRunning(name: string, procDir = "/proc"): Promise<boolean> {
  let pids: string[];
  try {
    pids = (await fs.readdir(procDir)).filter((e) => /^\d+$/.test(e));
  } catch {
    return false;
  }
  for (const pid of pids) {
    let argv: string[];
    try {
      argv = (await fs.readFile(join(procDir, pid, "cmdline"), "latin1")).split("\0");
    } catch {
      continue;
    }
    const exe = (argv[0] ?? "").split("/").pop() ?? "";
    if (!/^(qemu-system-.*|qemu-kvm|kvm|qemu-dm)$/.test(exe)) continue;
    for (let i = 1; i + 1 < argv.length; i++) {
      if (argv[i] !== "-name") continue;
      if (qemuNameArg(argv[i + 1] ?? "") === name) return true;
    }
  }
  return false;
}

/** The guest name in QEMU's `-name` value: `guest=NAME,debug-threads=on` or `NAME` (`,,` is a comma). */
export function qemuNameArg(value: string): string {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === "," && value[i + 1] === ",") {
      cur += ",";
      i++;
    } else if (ch === ",") {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  const guest = parts.find((x) => x.startsWith("guest="));
  if (guest !== undefined) return guest.slice("guest=".length);
  return parts[0]?.includes("=") === true ? "" : (parts[0] ?? "");
}

function isQemu(d: Domain): boolean {
  return d.type === "kvm" || d.type === "qemu";
}

/** OCF status of a settled observation, for monitor. Throws for failures. */
async function statusOf(ctx: OcfContext, d: Domain, o: Observation): Promise<OcfStatus> {
  if (o.kind === "gone") {
    ctx.log.debug(`domain ${d.name} is not defined: not running`);
    return OcfExit.NOT_RUNNING;
  }
  if (o.kind === "error") {
    if (o.connection && isQemu(d)) {
      const up = await qemuProcessRunning(d.name);
      ctx.log.warning(`${o.reason}; a QEMU process for ${d.name} is ${up ? "" : "not "}running`);
      return up ? OcfExit.SUCCESS : OcfExit.NOT_RUNNING;
    }
    throw new OcfGenericError(o.reason);
  }
  const s = o.state;
  switch (s.health) {
    case "running":
      return OcfExit.SUCCESS;
    case "stopped":
      return OcfExit.NOT_RUNNING;
    case "failed":
      throw new OcfGenericError(
        `domain ${d.name} has failed: ${s.state}${s.reason === "" ? "" : ` (${s.reason})`}`,
      );
    default:
      throw new OcfGenericError(
        `domain ${d.name} has no definite state: ${s.state}${s.reason === "" ? "" : ` (${s.reason})`}`,
      );
  }
}

/** How long the guest agent may take to answer guest-ping. */
export const GUEST_AGENT_MS = 5_000;

/** guest_agent_check: the QEMU guest agent answers guest-ping, or why not. */
async function pingGuestAgent(ctx: OcfContext, d: Domain): Promise<string | undefined> {
  const deadline = stepDeadline(ctx, GUEST_AGENT_MS + 2000);
  const seconds = Math.max(
    1,
    Math.min(GUEST_AGENT_MS / 1000, Math.floor((deadline.remainingMs() - 500) / 1000)),
  );
  const r = await run(
    ctx,
    ["qemu-agent-command", d.name, '{"execute":"guest-ping"}', "--timeout", String(seconds)],
    deadline,
  );
  if (r.code === 0) return undefined;
  return `guest agent of domain ${d.name} does not answer: ${noAnswer(ctx, r, "virsh qemu-agent-command").replace(/^virsh qemu-agent-command: /, "")}`;
}

/** The guest agent check (guest_agent_check), then monitor_scripts in order; the first failure is the reason. */
async function runMonitorScripts(ctx: OcfContext, d: Domain): Promise<string | undefined> {
  if (ctx.params.flag("guest_agent_check")) {
    const failed = await pingGuestAgent(ctx, d);
    if (failed !== undefined) return failed;
  }
  const scripts = (ctx.params.string("monitor_scripts") ?? "").split(/\s+/).filter((s) => s !== "");
  for (const script of scripts) {
    const deadline = stepDeadline(ctx);
    if (deadline.remainingMs() < 200)
      return `monitor script ${script} for domain ${d.name}: no time left`;
    const r = await new Promise<{
      code: number | undefined;
      out: string;
      killed: boolean;
      error?: string;
    }>((resolve) => {
      execFile(
        script,
        [],
        {
          env: ctx.childEnv(),
          timeout: Math.floor(deadline.remainingMs()),
          killSignal: "SIGKILL",
          signal: ctx.signal,
          encoding: "utf8",
          maxBuffer: 1024 * 1024,
        },
        (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
          const out = `${stdout}${stderr}`.trim().replace(/\s+/g, " ").slice(0, 300);
          if (e === null) resolve({ code: 0, out, killed: false });
          else
            resolve({
              code: typeof e.code === "number" ? e.code : undefined,
              out,
              killed: e.killed === true,
              error: typeof e.code === "string" ? e.code : undefined,
            });
        },
      );
    });
    if (r.code === 0) {
      ctx.log.debug(`monitor script ${script} for domain ${d.name} succeeded: ${r.out}`);
      continue;
    }
    if (r.killed) return `monitor script ${script} for domain ${d.name} did not finish in time`;
    if (r.error !== undefined)
      return `monitor script ${script} for domain ${d.name} cannot run (${r.error})`;
    return `monitor script ${script} for domain ${d.name} returned ${r.code ?? "?"} with output: ${r.out}`;
  }
  return undefined;
}

async function monitor(ctx: OcfContext): Promise<OcfStatus> {
  const { domain: d, configProblem, recorded } = await findDomain(ctx, true);
  if (d === undefined) {
    // Neither the config nor a record of a start here: nothing this agent started can run here.
    ctx.log.info(`${configProblem ?? "no domain"}; no record of a start on this node: not running`);
    return OcfExit.NOT_RUNNING;
  }
  if (configProblem !== undefined)
    ctx.log.warning(`${configProblem}; asking libvirt about domain ${d.name} (recorded at start)`);
  const status = await statusOf(ctx, d, await settledState(ctx, d, stepDeadline(ctx)));
  if (status !== OcfExit.SUCCESS) return status;
  // The record keeps the parsed config for the next monitors (and the name for a stop without it).
  if (configProblem === undefined && !recorded) await writeRecord(ctx, d);
  const failed = await runMonitorScripts(ctx, d);
  if (failed !== undefined) throw new OcfGenericError(failed);
  await updateUtilization(ctx, d);
  return OcfExit.SUCCESS;
}

/** After a failed crm_resource (no CIB here, cluster down), writes wait this long. */
export const UTILIZATION_RETRY_MS = 60_000;
/** The most one crm_resource call may take. */
const CRM_RESOURCE_MS = 10_000;

function utilizationFile(ctx: OcfContext): string {
  return join(ctx.rscTmp, `VirtualDomain-${ctx.instance}.utilization`);
}

/**
 * Sets (or deletes) the cpu/hv_memory/host_memory utilization attributes from the config file's
 * XML, and only those that differ from what this node last wrote (recorded in HA_RSCTMP): a
 * steady-state monitor runs no crm_resource at all. `afresh` (start, migrate_from) writes all.
 * A failure is a warning, never the monitor's.
 */
async function updateUtilization(ctx: OcfContext, d: Domain, afresh = false): Promise<void> {
  if (d.xml === undefined) return;
  const flag = (prefix: string) =>
    Object.fromEntries(
      UTILIZATION_ATTRS.map((a) => [a, ctx.params.flag(`${prefix}_${a}`)]),
    ) as Record<(typeof UTILIZATION_ATTRS)[number], boolean>;
  const flags = { autoset: flag("autoset_utilization"), unset: flag("unset_utilization") };
  const file = utilizationFile(ctx);
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8"); // HA_RSCTMP: local
  } catch {
    text = undefined;
  }
  // start and migrate_from write every value again: a value changed by hand in the CIB since is
  // set right at the next start here, monitors then only write changes.
  let record: UtilizationRecord = afresh ? { values: {} } : parseUtilizationRecord(text);
  const ops = utilizationOps(flags, utilizationValues(d.xml.vcpus, d.xml.memoryKib), record);
  if (ops.length === 0) return;
  if (record.retryAfter !== undefined && Date.now() < record.retryAfter) {
    ctx.log.debug(
      `utilization of ${ctx.instance}: ${ops.length} change(s) held back after a failed crm_resource`,
    );
    return;
  }
  const before = JSON.stringify(record);
  for (const op of ops) {
    const deadline = stepDeadline(ctx, CRM_RESOURCE_MS);
    if (deadline.remainingMs() < 500) break;
    const args = crmResourceArgs(ctx.instance, op);
    const r = await runTool(ctx, "crm_resource", args, deadline);
    if (!r.ok) {
      ctx.log.warning(
        `crm_resource failed to ${op.op === "set" ? `set utilization attribute ${op.attr} to ${op.value}` : `delete utilization attribute ${op.attr}`}: ${r.why}; retrying in ${secs(UTILIZATION_RETRY_MS)}`,
      );
      record = { values: record.values, retryAfter: Date.now() + UTILIZATION_RETRY_MS };
      break;
    }
    ctx.log.info(
      op.op === "set"
        ? `utilization ${op.attr}=${op.value} set for ${ctx.instance}`
        : `utilization ${op.attr} deleted for ${ctx.instance}`,
    );
    record = recordAfter(record, op);
  }
  if (JSON.stringify(record) === before) return;
  try {
    await fs.mkdir(ctx.rscTmp, { recursive: true });
    await fs.writeFile(`${file}.tmp`, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    await fs.rename(`${file}.tmp`, file);
  } catch (err) {
    ctx.log.warning(`cannot record the utilization in ${file}: ${messageOf(err)}`);
  }
}

async function start(ctx: OcfContext): Promise<void> {
  const c = await readConfig(ctx);
  if (!c.ok) throw c.unreadable ? new OcfNotInstalled(c.reason) : new OcfNotConfigured(c.reason);
  const d = c.domain;
  const first = await settledState(ctx, d, stepDeadline(ctx, 10_000));
  if (first.kind === "error") throw new OcfGenericError(first.reason);
  if (first.kind === "state") {
    if (first.state.health === "running") {
      await writeRecord(ctx, d);
      ctx.log.info(`domain ${d.name} already running`);
      return;
    }
    if (first.state.health === "failed")
      throw new OcfGenericError(
        `domain ${d.name} is ${first.state.state} (${first.state.reason}): stop it before starting it`,
      );
    // Defined but shut off: the admin's persistent definition is kept (unlike the reference,
    // which undefines it). With the same UUID, `virsh create` runs the file's XML as the live
    // configuration and libvirt keeps the persistent one for after the stop.
    // (backingfile: the domain is defined from the file anyway, as the reference does.)
    if (first.state.health === "stopped" && (ctx.params.string("backingfile") ?? "") === "")
      await setAsideDefinition(ctx, d);
  }
  if (ctx.params.flag("start_resources") && d.xml !== undefined)
    await startResources(ctx, d.xml, undefined);
  // Recorded before it runs: a stop or probe must find it even if this process dies right after.
  await writeRecord(ctx, d);
  const state = await savedState(ctx, d);
  if (state !== undefined) {
    const r = await run(ctx, ["restore", state]);
    if (r.code !== 0) {
      const again = await observe(ctx, d);
      if (!(again.kind === "state" && again.state.health === "running"))
        throw new OcfGenericError(
          `failed to restore domain ${d.name} from ${state}: ${noAnswer(ctx, r, "virsh restore").replace(/^virsh restore: /, "")}`,
        );
    }
    await fs.rm(state, { force: true });
    ctx.log.info(`domain ${d.name} restored from ${state}`);
  } else if ((ctx.params.string("backingfile") ?? "") !== "") {
    await startFromBackingFile(ctx, d);
  } else {
    const r = await run(ctx, ["create", ctx.params.string("config") ?? ""]);
    if (r.code !== 0) {
      const again = await observe(ctx, d);
      if (!(again.kind === "state" && again.state.health === "running"))
        throw new OcfGenericError(
          `failed to start domain ${d.name}: ${noAnswer(ctx, r, "virsh create").replace(/^virsh create: /, "")}`,
        );
      ctx.log.warning(`virsh create failed (${virshMessage(r)}) but domain ${d.name} runs`);
    }
    ctx.log.info(`domain ${d.name} created from ${ctx.params.string("config")}`);
  }
  // Wait until libvirt shows it running and the monitor scripts pass, as monitor would see it.
  let last = "no answer yet";
  for (;;) {
    const deadline = stepDeadline(ctx);
    const o = await observe(ctx, d, deadline);
    if (o.kind === "state" && o.state.health === "running") {
      const failed = await runMonitorScripts(ctx, d);
      if (failed === undefined) {
        await updateUtilization(ctx, d, true);
        return;
      }
      last = failed;
    } else if (o.kind === "state" && o.state.health === "failed") {
      throw new OcfGenericError(
        `domain ${d.name} failed while starting: ${o.state.state} (${o.state.reason})`,
      );
    } else if (o.kind === "gone") {
      throw new OcfGenericError(
        `domain ${d.name} disappeared while starting (see libvirt's log for the domain)`,
      );
    } else last = o.kind === "state" ? `state ${o.state.state}` : o.reason;
    if (stepDeadline(ctx).remainingMs() < POLL_MS + 200)
      throw new OcfGenericError(
        `domain ${d.name} created but not confirmed running in time: ${last}`,
      );
    await sleep(POLL_MS, stepDeadline(ctx));
  }
}

/** Waits until the domain is not running (shut off or gone) or `until` passes. */
async function waitStopped(
  ctx: OcfContext,
  d: Domain,
  until: Deadline,
  onTick?: () => Promise<void>,
): Promise<Observation> {
  for (;;) {
    const o = await observe(
      ctx,
      d,
      until.within(Math.max(ctx.deadline.remainingMs() - REPORT_MS, 0)),
    );
    if (o.kind === "gone" || (o.kind === "state" && o.state.health === "stopped")) return o;
    if (until.remainingMs() < POLL_MS) return o;
    await sleep(POLL_MS, until);
    await onTick?.();
  }
}

function describe(o: Observation): string {
  if (o.kind === "gone") return "not defined";
  if (o.kind === "error") return o.reason;
  return `${o.state.state}${o.state.reason === "" ? "" : ` (${o.state.reason})`}`;
}

async function destroy(ctx: OcfContext, d: Domain): Promise<void> {
  ctx.log.info(`destroying domain ${d.name} (forced stop)`);
  let last: Observation | undefined;
  for (let attempt = 1; ; attempt++) {
    const r = await run(ctx, ["destroy", d.name]);
    const message = virshMessage(r);
    if (r.code !== 0 && !(r.code !== undefined && (isNotRunning(message) || isNotFound(message)))) {
      ctx.log.warning(
        `destroy of domain ${d.name} (attempt ${attempt}): ${noAnswer(ctx, r, "virsh destroy")}`,
      );
    }
    last = await waitStopped(ctx, d, stepDeadline(ctx, 5000));
    if (last.kind === "gone" || (last.kind === "state" && last.state.health === "stopped")) {
      ctx.log.info(`domain ${d.name} destroyed: ${describe(last)}`);
      return;
    }
    if (stepDeadline(ctx).remainingMs() < 1000) break;
  }
  throw new OcfGenericError(`domain ${d.name} still not stopped after destroy: ${describe(last)}`);
}

/** Where start keeps a persistent definition it had to undefine, until stop defines it again. */
function definitionBackup(ctx: OcfContext): string {
  return join(ctx.varLib, "VirtualDomain", `${ctx.instance}.persistent.xml`);
}

/**
 * A defined, shut-off domain of the config's name. Same UUID as the config: nothing to do, create
 * keeps the definition. Otherwise create would refuse ("already exists with uuid"): the persistent
 * definition is saved to HA_VARLIB (which survives a reboot) and undefined; stop defines it again.
 */
async function setAsideDefinition(ctx: OcfContext, d: Domain): Promise<void> {
  const u = await run(ctx, ["domuuid", d.name], stepDeadline(ctx, 10_000));
  const defined = u.code === 0 ? u.stdout.trim().toLowerCase() : undefined;
  if (defined !== undefined && d.uuid !== undefined && defined === d.uuid) {
    ctx.log.info(
      `domain ${d.name} is defined here with the config's UUID: it runs from ${ctx.params.string("config")}, its persistent definition stays`,
    );
    await noAutostart(ctx, d);
    return;
  }
  const x = await run(
    ctx,
    ["dumpxml", "--inactive", "--security-info", d.name],
    stepDeadline(ctx, 10_000),
  );
  if (x.code !== 0 || x.stdout.trim() === "")
    throw new OcfGenericError(
      `domain ${d.name} is defined here with another UUID and its definition cannot be saved: ${noAnswer(ctx, x, "virsh dumpxml")}`,
    );
  const file = definitionBackup(ctx);
  try {
    await fs.mkdir(join(ctx.varLib, "VirtualDomain"), { recursive: true, mode: 0o700 });
    await fs.writeFile(`${file}.tmp`, x.stdout, { mode: 0o600 });
    await fs.rename(`${file}.tmp`, file);
  } catch (err) {
    throw new OcfGenericError(
      `domain ${d.name} is defined here with another UUID; cannot save its definition to ${file} (${messageOf(err)}): not undefining it`,
    );
  }
  const r = await run(ctx, ["undefine", d.name]);
  if (r.code !== 0)
    throw new OcfGenericError(
      `domain ${d.name} is defined here with another UUID and cannot be undefined: ${noAnswer(ctx, r, "virsh undefine")}`,
    );
  ctx.log.warning(
    `domain ${d.name} was defined here (UUID ${defined ?? "?"}) with another UUID than ${ctx.params.string("config")}: its definition is saved in ${file} and is defined again on stop`,
  );
}

/**
 * start_resources: the storage pools and virtual networks the domain uses, started where they are
 * not active: on this node's hypervisor, or on `remoteUri` (the target's, before a migration).
 */
async function startResources(
  ctx: OcfContext,
  xml: DomainXmlInfo,
  remoteUri: string | undefined,
): Promise<void> {
  const on = (args: readonly string[]) => {
    ctx.log.debug(
      `virsh ${remoteUri === undefined ? "" : `--connect ${remoteUri} `}${args.join(" ")}`,
    );
    return virsh(args, stepDeadline(ctx, 20_000), {
      uri: remoteUri ?? uri(ctx),
      env: ctx.childEnv(),
      signal: ctx.signal,
    });
  };
  const where = remoteUri === undefined ? "" : ` on ${remoteUri}`;
  for (const pool of xml.pools) {
    const info = await on(["pool-info", pool]);
    if (info.code !== 0)
      throw new OcfGenericError(
        `storage pool ${pool} required by domain ${xml.name}${where}: ${noAnswer(ctx, info, "virsh pool-info").replace(/^virsh pool-info: /, "")}`,
      );
    if (/^State:\s+running\s*$/m.test(info.stdout)) {
      const r = await on(["pool-refresh", pool]);
      if (r.code !== 0)
        ctx.log.warning(
          `refresh of storage pool ${pool}${where}: ${noAnswer(ctx, r, "virsh pool-refresh")}`,
        );
      continue;
    }
    const r = await on(["pool-start", pool]);
    if (r.code !== 0)
      throw new OcfGenericError(
        `failed to start storage pool ${pool} required by domain ${xml.name}${where}: ${noAnswer(ctx, r, "virsh pool-start").replace(/^virsh pool-start: /, "")}`,
      );
    ctx.log.info(`started storage pool ${pool}${where} for domain ${xml.name}`);
  }
  for (const net of xml.networks) {
    const info = await on(["net-info", net]);
    if (info.code !== 0)
      throw new OcfGenericError(
        `virtual network ${net} required by domain ${xml.name}${where}: ${noAnswer(ctx, info, "virsh net-info").replace(/^virsh net-info: /, "")}`,
      );
    if (/^Active:\s+yes\s*$/m.test(info.stdout)) continue;
    const r = await on(["net-start", net]);
    if (r.code !== 0)
      throw new OcfGenericError(
        `failed to start virtual network ${net} required by domain ${xml.name}${where}: ${noAnswer(ctx, r, "virsh net-start").replace(/^virsh net-start: /, "")}`,
      );
    ctx.log.info(`started virtual network ${net}${where} for domain ${xml.name}`);
  }
}

/** A program other than virsh, bounded by `deadline`: exit 0, or why not in one line. */
function runTool(
  ctx: OcfContext,
  program: string,
  args: readonly string[],
  deadline: Deadline,
): Promise<{ ok: boolean; out: string; why: string }> {
  ctx.log.debug(`${program} ${args.join(" ")}`);
  return new Promise((resolve) => {
    if (deadline.remainingMs() < 200) return resolve({ ok: false, out: "", why: "no time left" });
    execFile(
      program,
      args,
      {
        env: ctx.childEnv(),
        timeout: deadline.remainingMs(),
        killSignal: "SIGKILL",
        signal: ctx.signal,
        encoding: "utf8",
        maxBuffer: 4 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
        if (e === null) return resolve({ ok: true, out: stdout, why: "" });
        const text = `${stderr}${stdout}`.trim().replace(/\s+/g, " ").slice(0, 300);
        resolve({
          ok: false,
          out: stdout,
          why:
            e.killed === true
              ? "did not finish in time"
              : typeof e.code === "string"
                ? `cannot run (${e.code})`
                : `exit ${String(e.code)}: ${text}`,
        });
      },
    );
  });
}

/**
 * backingfile (the reference's copy-on-write mode): the qcow2 image on the backing file, created
 * when missing or empty, or always with stateless; then virsh define CONFIG and virsh start NAME.
 */
async function startFromBackingFile(ctx: OcfContext, d: Domain): Promise<void> {
  const config = ctx.params.string("config") ?? "";
  const backing = ctx.params.string("backingfile") ?? "";
  const image = overlayImage(config);
  let size = 0;
  try {
    size = (await fs.stat(image)).size;
  } catch {
    size = 0;
  }
  const fresh = ctx.params.flag("stateless") || size === 0;
  if (fresh) {
    const info = await runTool(
      ctx,
      "qemu-img",
      ["info", "--output=json", "-U", backing],
      stepDeadline(ctx, 30_000),
    );
    const format = info.ok ? imageFormat(info.out) : undefined;
    if (format === undefined)
      throw new OcfGenericError(
        `cannot read the format of backing file ${backing}: ${info.ok ? "qemu-img info gave none" : info.why}`,
      );
    const made = await runTool(
      ctx,
      "qemu-img",
      ["create", "-q", "-f", "qcow2", "-F", format, "-b", backing, image],
      stepDeadline(ctx, 60_000),
    );
    if (!made.ok)
      throw new OcfGenericError(
        `failed to create ${image} on backing file ${backing}: ${made.why}`,
      );
    ctx.log.info(
      `created ${image} on backing file ${backing} (${format})${ctx.params.flag("stateless") ? ", stateless" : ""}`,
    );
  }
  const def = await run(ctx, ["define", config], stepDeadline(ctx, 20_000));
  if (def.code !== 0)
    throw new OcfGenericError(
      `failed to define domain ${d.name} from ${config}: ${noAnswer(ctx, def, "virsh define").replace(/^virsh define: /, "")}`,
    );
  const copyin = (ctx.params.string("copyindirs") ?? "").split(/\s+/).filter((x) => x !== "");
  if (fresh && copyin.length > 0) {
    const h = uri(ctx);
    const c = await runTool(
      ctx,
      "virt-copy-in",
      ["-d", d.name, ...(h === undefined ? [] : ["-c", h]), ...copyin, "/"],
      stepDeadline(ctx, Math.max(stepDeadline(ctx).remainingMs() - 10_000, 1000)),
    );
    if (!c.ok)
      throw new OcfGenericError(
        `failed to copy ${copyin.join(" ")} into domain ${d.name}'s image: virt-copy-in ${c.why}`,
      );
    ctx.log.info(`copied ${copyin.join(" ")} into domain ${d.name}'s image`);
  }
  const r = await run(ctx, ["start", d.name]);
  if (r.code !== 0) {
    const again = await observe(ctx, d);
    if (!(again.kind === "state" && again.state.health === "running"))
      throw new OcfGenericError(
        `failed to start domain ${d.name}: ${noAnswer(ctx, r, "virsh start").replace(/^virsh start: /, "")}`,
      );
  }
  ctx.log.info(`domain ${d.name} defined from ${config} and started on ${image}`);
}

/** snapshot: the state file of this domain, when there is one to restore. */
async function savedState(ctx: OcfContext, d: Domain): Promise<string | undefined> {
  const dir = ctx.params.string("snapshot") ?? "";
  if (dir === "") return undefined;
  const file = join(dir, `${d.name}.state`);
  try {
    await fs.access(file);
    return file;
  } catch {
    return undefined;
  }
}

/**
 * snapshot on stop: `virsh save` the running domain to DIR/NAME.state, within the time a graceful
 * shutdown would get. True once the domain is stopped with its state saved; false (after a
 * logged error, the job aborted and a partial file removed) to go on with a shutdown.
 */
async function saveState(ctx: OcfContext, d: Domain): Promise<boolean> {
  const file = join(ctx.params.string("snapshot") ?? "", `${d.name}.state`);
  const graceMs = ctx.deadline.remainingMs() - Math.max(DESTROY_RESERVE_MS, REPORT_MS);
  if (graceMs < 2000) {
    ctx.log.error(
      `no time to save domain ${d.name}'s state before the ${secs(DESTROY_RESERVE_MS)} destroy reserve: not saved`,
    );
    return false;
  }
  ctx.log.info(`saving domain ${d.name}'s state to ${file}, up to ${secs(graceMs)}`);
  const r = await run(ctx, ["save", d.name, file], Deadline.in(graceMs));
  if (r.code === 0) {
    const o = await waitStopped(ctx, d, stepDeadline(ctx, 10_000));
    if (o.kind === "gone" || (o.kind === "state" && o.state.health === "stopped")) {
      ctx.log.info(`domain ${d.name} saved to ${file} and stopped`);
      return true;
    }
    ctx.log.error(`domain ${d.name} saved to ${file} but still ${describe(o)}`);
    return false;
  }
  ctx.log.error(
    `failed to save domain ${d.name}'s state to ${file}: ${noAnswer(ctx, r, "virsh save").replace(/^virsh save: /, "")}`,
  );
  if (r.timedOut) {
    // virsh was killed; libvirtd's save job goes on unless aborted.
    const a = await run(ctx, ["domjobabort", d.name], stepDeadline(ctx, 5000));
    if (a.code !== 0)
      ctx.log.warning(`domjobabort of domain ${d.name}: ${noAnswer(ctx, a, "virsh domjobabort")}`);
  }
  const o = await observe(ctx, d, stepDeadline(ctx, 5000));
  if (o.kind === "state" && o.state.health === "running") {
    // A partial state file would make every later start fail to restore it.
    await fs.rm(file, { force: true }).catch(() => undefined);
    return false;
  }
  if (o.kind === "gone" || (o.kind === "state" && o.state.health === "stopped")) {
    ctx.log.info(`domain ${d.name} stopped: the save finished after all`);
    return true;
  }
  return false;
}

/** The most csync2 may take. */
const CSYNC2_MS = 30_000;

/**
 * save_config_on_stop / sync_config_on_stop: the running domain's configuration back into the
 * config file when it differs (and then csync2 -x). Only over a file that is there: with the file
 * gone (shared storage not mounted) nothing is written where the mount point would be. Every
 * failure is a warning: the action itself goes on.
 */
async function saveConfig(ctx: OcfContext, d: Domain): Promise<void> {
  const sync = ctx.params.flag("sync_config_on_stop");
  if (!sync && !ctx.params.flag("save_config_on_stop")) return;
  const path = ctx.params.string("config") ?? "";
  if (d.source !== "config") {
    ctx.log.warning(
      `configuration file ${path} is not readable: domain ${d.name}'s configuration is not saved`,
    );
    return;
  }
  // The running configuration in its migratable form (no runtime ids or aliases); not --inactive,
  // which for a domain whose persistent definition start kept would be that definition.
  const r = await run(
    ctx,
    ["dumpxml", "--migratable", "--security-info", d.name],
    stepDeadline(ctx, 10_000),
  );
  const xml = withoutRuntimeId(r.stdout);
  if (r.code !== 0 || xml.trim() === "") {
    ctx.log.warning(
      `cannot save domain ${d.name}'s configuration: ${r.code === 0 ? "empty dump" : noAnswer(ctx, r, "virsh dumpxml")}`,
    );
    return;
  }
  let dumped: DomainXmlInfo;
  try {
    dumped = await parseDomainXml(xml);
  } catch (err) {
    ctx.log.warning(
      `domain ${d.name}'s dumped configuration does not parse (${messageOf(err)}): not saved`,
    );
    return;
  }
  if (dumped.name !== d.name || (d.uuid !== undefined && dumped.uuid !== d.uuid)) {
    ctx.log.warning(
      `domain ${d.name}'s dumped configuration names ${dumped.name} ${dumped.uuid ?? ""}: not saved`,
    );
    return;
  }
  let old: string | undefined;
  let mode = 0o600;
  try {
    old = await fs.readFile(path, "utf8");
    mode = (await fs.stat(path)).mode & 0o7777;
  } catch {
    old = undefined;
  }
  if (old === xml) {
    ctx.log.debug(`domain ${d.name}'s configuration is unchanged in ${path}`);
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.kvmha-${process.pid}`);
  try {
    await fs.writeFile(tmp, xml, { mode });
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    ctx.log.warning(`cannot save domain ${d.name}'s configuration to ${path}: ${messageOf(err)}`);
    return;
  }
  ctx.log.info(
    `saved domain ${d.name}'s configuration to ${path}${sync ? "" : " (make sure every node sees it, or set sync_config_on_stop)"}`,
  );
  if (!sync) return;
  const deadline = stepDeadline(ctx, CSYNC2_MS);
  const synced = await runTool(ctx, "csync2", ["-x", path], deadline);
  const c = synced.ok ? undefined : synced.why;
  if (c === undefined) ctx.log.info(`synced ${path} with csync2 -x`);
  else ctx.log.warning(`csync2 -x ${path} failed: ${c}`);
}

/**
 * A definition the cluster keeps must not autostart: libvirtd would start the guest at boot (or
 * its restart) behind Pacemaker's back, maybe while it runs on another node. The reference never
 * met this: it undefined the domain. Turned off, with a warning.
 */
async function noAutostart(ctx: OcfContext, d: Domain): Promise<void> {
  const info = await run(ctx, ["dominfo", d.name], stepDeadline(ctx, 10_000));
  if (info.code !== 0 || !/^Autostart:\s+enable/m.test(info.stdout)) return;
  const r = await run(ctx, ["autostart", "--disable", d.name], stepDeadline(ctx, 10_000));
  if (r.code === 0)
    ctx.log.warning(
      `domain ${d.name} was set to autostart: turned off (Pacemaker starts it; libvirtd must not)`,
    );
  else
    ctx.log.warning(
      `domain ${d.name} is set to autostart and it cannot be turned off: ${noAnswer(ctx, r, "virsh autostart")}; libvirtd may start it behind Pacemaker's back`,
    );
}

/** After a successful stop: the persistent definition start set aside, defined again. */
async function restoreDefinition(ctx: OcfContext): Promise<void> {
  const file = definitionBackup(ctx);
  try {
    await fs.access(file);
  } catch {
    return;
  }
  const r = await run(ctx, ["define", file], stepDeadline(ctx, 10_000));
  if (r.code !== 0) {
    ctx.log.warning(
      `cannot define again the persistent definition saved in ${file}: ${noAnswer(ctx, r, "virsh define")}; it stays there`,
    );
    return;
  }
  await fs.rm(file, { force: true });
  ctx.log.info(`persistent definition saved at start defined again from ${file}`);
}

async function stop(ctx: OcfContext): Promise<void> {
  await stopDomain(ctx);
  await restoreDefinition(ctx);
}

async function stopDomain(ctx: OcfContext): Promise<void> {
  const { domain: d, configProblem } = await findDomain(ctx);
  if (d === undefined) {
    ctx.log.info(
      `${configProblem ?? "no domain"}; no record of a start on this node: resource considered stopped`,
    );
    return;
  }
  if (configProblem !== undefined)
    ctx.log.warning(`${configProblem}; stopping domain ${d.name} (recorded at start)`);
  const first = await settledState(ctx, d, stepDeadline(ctx, 10_000));
  if (first.kind === "gone" || (first.kind === "state" && first.state.health === "stopped")) {
    ctx.log.info(`domain ${d.name} already stopped (${describe(first)})`);
    return;
  }
  if (first.kind === "error") {
    if (first.connection && isQemu(d) && !(await qemuProcessRunning(d.name))) {
      ctx.log.warning(`${first.reason}; no QEMU process for ${d.name} runs: stopped`);
      return;
    }
    throw new OcfGenericError(`cannot stop domain ${d.name}: ${first.reason}`);
  }
  if (first.kind === "state" && first.state.health !== "running") {
    // crashed, paused on an error: nothing graceful can work.
    ctx.log.info(`domain ${d.name} is ${describe(first)}: destroying it`);
    return destroy(ctx, d);
  }
  await saveConfig(ctx, d);
  if (ctx.params.flag("force_stop")) return destroy(ctx, d);
  if ((ctx.params.string("snapshot") ?? "") !== "" && (await saveState(ctx, d))) return;
  const graceMs = ctx.deadline.remainingMs() - Math.max(DESTROY_RESERVE_MS, REPORT_MS);
  if (graceMs < 1000) {
    ctx.log.warning(
      `stop timeout ${secs(ctx.timeoutMs)} leaves no time for a graceful shutdown before the ${secs(DESTROY_RESERVE_MS)} destroy reserve: destroying domain ${d.name}`,
    );
    return destroy(ctx, d);
  }
  const grace = Deadline.in(graceMs);
  const mode = ctx.params.string("shutdown_mode") ?? "";
  const args = ["shutdown", d.name, ...(mode === "" ? [] : ["--mode", mode])];
  const request = async (): Promise<boolean> => {
    const r = await run(ctx, args, grace.within(Math.max(grace.remainingMs(), 0)));
    if (r.code === 0) return true;
    const message = virshMessage(r);
    if (r.code !== undefined && (isNotRunning(message) || isNotFound(message))) return true;
    ctx.log.warning(
      `graceful shutdown request for domain ${d.name} failed: ${noAnswer(ctx, r, "virsh shutdown")}`,
    );
    return false;
  };
  ctx.log.info(
    `shutting down domain ${d.name} gracefully${mode === "" ? "" : ` (mode ${mode})`}, up to ${secs(graceMs)}`,
  );
  if (await request()) {
    let lastRequest = Date.now();
    const o = await waitStopped(ctx, d, grace, async () => {
      if (Date.now() - lastRequest >= SHUTDOWN_REPEAT_MS && grace.remainingMs() > 1000) {
        lastRequest = Date.now();
        ctx.log.info(`domain ${d.name} still running: repeating the shutdown request`);
        await request();
      }
    });
    if (o.kind === "gone" || (o.kind === "state" && o.state.health === "stopped")) {
      ctx.log.info(`domain ${d.name} shut down gracefully (${describe(o)})`);
      return;
    }
    ctx.log.warning(
      `domain ${d.name} did not shut down within ${secs(graceMs)} (${describe(o)}): destroying it`,
    );
  }
  return destroy(ctx, d);
}

async function validate(ctx: OcfContext): Promise<void> {
  // stop and monitor find the domain themselves (config, else the record from start) and never
  // give up on a guest libvirt shows running; the runner would map a failure here to "stopped".
  if (ctx.action !== "start" && ctx.action !== "validate-all") return;
  if (ctx.params.flag("force_stop") && (ctx.params.string("snapshot") ?? "") !== "") {
    throw new OcfNotConfigured("the 'force_stop' and 'snapshot' options cannot be used together");
  }
  if (ctx.params.flag("stateless") && (ctx.params.string("backingfile") ?? "") === "") {
    throw new OcfNotConfigured("stateless needs a backing file (backingfile)");
  }
  if (
    (ctx.params.string("copyindirs") ?? "").trim() !== "" &&
    (ctx.params.string("backingfile") ?? "") === ""
  ) {
    // The reference ignores it then; so does this agent, but says so.
    ctx.log.warning("copyindirs is ignored without backingfile (it copies into a fresh image)");
  }
  if (ctx.params.flag("sync_config_on_stop") && !onPath("csync2", ctx.childEnv().PATH))
    throw new OcfNotInstalled("csync2: required binary not installed (sync_config_on_stop)");
  const backing = ctx.params.string("backingfile") ?? "";
  if (backing !== "") {
    if (!onPath("qemu-img", ctx.childEnv().PATH))
      throw new OcfNotInstalled("qemu-img: required binary not installed (backingfile)");
    if (
      (ctx.params.string("copyindirs") ?? "").trim() !== "" &&
      !onPath("virt-copy-in", ctx.childEnv().PATH)
    )
      throw new OcfNotInstalled(
        "virt-copy-in: required binary not installed (copyindirs; Debian package libguestfs-tools)",
      );
    try {
      await fs.access(backing, fsConstants.R_OK);
    } catch (err) {
      throw new OcfNotInstalled(
        `backing file ${backing} does not exist or is not readable (${(err as NodeJS.ErrnoException).code ?? "?"})`,
      );
    }
  }
  const mode = ctx.params.string("shutdown_mode") ?? "";
  if (mode !== "" && !/^[a-z]+(,[a-z]+)*$/.test(mode))
    throw new OcfNotConfigured(`shutdown_mode '${mode}' is not a list of virsh shutdown modes`);
  const c = await readConfig(ctx);
  if (!c.ok) throw c.unreadable ? new OcfNotInstalled(c.reason) : new OcfNotConfigured(c.reason);
  await checkEmulator(c.domain);
  if (ctx.action === "validate-all" && ctx.checkLevel >= 10) await checkEnvironment(ctx, c.domain);
}

/** The config's <emulator> must exist and be executable here (cheap: start checks it too). */
async function checkEmulator(d: Domain): Promise<void> {
  const emulator = d.xml?.emulator;
  if (emulator === undefined) return;
  try {
    await fs.access(emulator, fsConstants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new OcfNotInstalled(
      `emulator ${emulator} of domain ${d.name} is ${code === "ENOENT" ? "missing" : `not executable (${code})`} on this node`,
    );
  }
}

/**
 * validate-all at OCF_CHECK_LEVEL 10: the hypervisor answers (bounded), and for a local QEMU
 * driver, whether libvirt's lock manager protects the disks (a warning only: many clusters rely
 * on fencing alone). qemu.conf is read in this mount namespace, the one libvirtd runs in.
 */
async function checkEnvironment(ctx: OcfContext, d: Domain): Promise<void> {
  const r = await run(ctx, ["uri"], stepDeadline(ctx, 10_000));
  if (r.code !== 0)
    throw new OcfGenericError(
      `hypervisor ${uri(ctx) ?? "(virsh's default)"} not reachable: ${noAnswer(ctx, r, "virsh uri").replace(/^virsh uri: /, "")}`,
    );
  const effective = r.stdout.trim();
  ctx.log.debug(`hypervisor ${effective} answers`);
  const info = await run(ctx, ["dominfo", d.name], stepDeadline(ctx, 10_000));
  if (info.code === 0 && /^Autostart:\s+enable/m.test(info.stdout)) {
    ctx.log.warning(
      `domain ${d.name} is defined here with autostart on: libvirtd starts it at boot behind Pacemaker's back (start turns it off)`,
    );
  }
  if (!isQemu(d)) return;
  const conf = qemuConfPath(effective, ctx.childEnv());
  if (conf === undefined) {
    ctx.log.info(
      `hypervisor ${effective} is not a local QEMU driver: its lock manager is not checked`,
    );
    return;
  }
  let text = "";
  try {
    text = await fs.readFile(conf, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code !== "ENOENT") {
      ctx.log.warning(`cannot read ${conf} (${code}): libvirt's lock manager is not checked`);
      return;
    }
  }
  const lm = diskLockManager(text);
  if (lm === undefined) {
    ctx.log.warning(
      `libvirt has no lock manager protecting the disks of domain ${d.name} (lock_manager is not "lockd" or "sanlock" in ${conf}): nothing but fencing stops a second node from running it on the same disks`,
    );
  } else ctx.log.debug(`libvirt lock manager: ${lm} (${conf})`);
}

/** Kept back from migrate_to's deadline to abort the migration job and confirm the guest stayed. */
export const ABORT_RESERVE_MS = 5_000;

async function localUri(ctx: OcfContext): Promise<string> {
  const u = uri(ctx);
  if (u !== undefined) return u;
  const r = await run(ctx, ["uri"], stepDeadline(ctx, 10_000));
  if (r.code !== 0) throw new OcfGenericError(noAnswer(ctx, r, "virsh uri"));
  return r.stdout.trim();
}

function intParam(ctx: OcfContext, name: string): number {
  const v = ctx.params.string(name) ?? "";
  return /^\d+$/.test(v.trim()) ? Number.parseInt(v.trim(), 10) : 0;
}

async function plan(ctx: OcfContext): Promise<MigrationPlan> {
  const hypervisor = await localUri(ctx);
  try {
    return migrationPlan({
      hypervisor,
      targetNode: ctx.meta("migrate_target"),
      remoteuri: ctx.params.string("remoteuri"),
      migrationTransport: ctx.params.string("migration_transport"),
      migrationUser: ctx.params.string("migration_user"),
      migrationNetworkSuffix: ctx.params.string("migration_network_suffix"),
      migrateuri: ctx.params.string("migrateuri"),
      migrateport: ctx.params.string("migrateport"),
      migrateOptions: ctx.params.string("migrate_options"),
    });
  } catch (err) {
    if (err instanceof MigrationConfigError) throw new OcfNotConfigured(err.message);
    throw err;
  }
}

/**
 * Live migration to OCF_RESKEY_CRM_meta_migrate_target. `virsh migrate --live` is bounded: when
 * it has not finished ABORT_RESERVE_MS before the op deadline the job is aborted (domjobabort),
 * so the guest goes on running here and the action fails with the reason.
 */
async function migrateTo(ctx: OcfContext): Promise<void> {
  const { domain: d, configProblem } = await findDomain(ctx);
  if (d === undefined)
    throw new OcfGenericError(
      `migrate_to: ${configProblem ?? "no domain"}; no record of a start on this node`,
    );
  const mp = await plan(ctx);
  const first = await settledState(ctx, d, stepDeadline(ctx, 10_000));
  if (!(first.kind === "state" && first.state.health === "running")) {
    throw new OcfGenericError(
      `domain ${d.name}: migrate_to: not active locally (${describe(first)})`,
    );
  }
  await saveConfig(ctx, d);
  if (ctx.params.flag("start_resources") && d.xml !== undefined)
    await startResources(ctx, d.xml, mp.remoteUri);
  const speed = intParam(ctx, "migration_speed");
  const downtime = intParam(ctx, "migration_downtime");
  const postcopy = ctx.params.flag("migration_postcopy");
  const postcopyAfter = intParam(ctx, "migration_postcopy_after");
  const limitMs = intParam(ctx, "migration_time_limit") * 1000;
  // --postcopy-after-precopy (libvirt 5.x+) lets libvirt switch by itself; asked of this virsh only when needed.
  const autoSwitch =
    postcopy &&
    postcopyAfter === 0 &&
    (await virshHasOption(ctx, "migrate", "--postcopy-after-precopy"));
  const extra = [
    ...(ctx.params.flag("migration_auto_converge") ? ["--auto-converge"] : []),
    ...(postcopy ? ["--postcopy"] : []),
    ...(autoSwitch ? ["--postcopy-after-precopy"] : []),
  ];
  const args = [
    "migrate",
    "--live",
    ...mp.options,
    ...extra,
    ...(speed > 0 ? ["--bandwidth", String(speed)] : []),
    d.name,
    mp.remoteUri,
    ...(mp.migrateUri === undefined ? [] : ["--migrateuri", mp.migrateUri]),
  ];
  const whole = stepDeadline(ctx);
  const reserveAt =
    whole.remainingMs() - Math.min(ABORT_RESERVE_MS, Math.floor(whole.remainingMs() / 3));
  const abortAt = limitMs > 0 ? Math.min(limitMs, reserveAt) : reserveAt;
  if (abortAt < 1000)
    throw new OcfGenericError(
      `domain ${d.name}: migrate_to timeout ${secs(ctx.timeoutMs)} leaves no time to migrate`,
    );
  const why =
    limitMs > 0 && limitMs <= reserveAt
      ? `migration_time_limit ${secs(limitMs)}`
      : `op timeout ${secs(ctx.timeoutMs)}`;
  ctx.log.info(
    `domain ${d.name}: live migration to ${mp.targetHost} (virsh ${args.join(" ")}), up to ${secs(abortAt)}`,
  );
  const started = Date.now();
  const migration = run(ctx, args, whole);
  let done: VirshResult | undefined;
  void migration.then((r) => {
    done = r;
  });
  const ac = new AbortController();
  const timer = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, abortAt);
    ac.signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
  // The downtime can be set only while the job runs: asked once it has started, retried briefly.
  const setDowntime = async (): Promise<void> => {
    if (downtime <= 0) return;
    for (let i = 0; i < 20 && done === undefined && Date.now() - started < abortAt - 1000; i++) {
      await sleep(250);
      if (done !== undefined) return;
      const r = await run(
        ctx,
        ["migrate-setmaxdowntime", d.name, String(downtime)],
        stepDeadline(ctx, 5000),
      );
      if (r.code === 0) {
        ctx.log.info(`domain ${d.name}: migration downtime limit set to ${downtime} ms`);
        return;
      }
    }
    if (done === undefined)
      ctx.log.warning(`domain ${d.name}: could not set the migration downtime to ${downtime} ms`);
  };
  void setDowntime();
  // Post-copy without libvirt's own switch: after migration_postcopy_after s (at least 1) of pre-copy.
  const switchToPostcopy = async (): Promise<void> => {
    if (!postcopy || autoSwitch) return;
    const at = Math.max(1000, postcopyAfter * 1000);
    if (at >= abortAt - 1000) return;
    await sleep(at);
    for (let i = 0; i < 10 && done === undefined && Date.now() - started < abortAt - 1000; i++) {
      const r = await run(ctx, ["migrate-postcopy", d.name], stepDeadline(ctx, 5000));
      if (done !== undefined) return;
      if (r.code === 0) {
        ctx.log.info(
          `domain ${d.name}: migration switched to post-copy after ${secs(Date.now() - started)}`,
        );
        return;
      }
      ctx.log.debug(`migrate-postcopy: ${virshMessage(r)}`);
      await sleep(500);
    }
  };
  void switchToPostcopy();
  const first2 = await Promise.race([
    migration.then(() => "done" as const),
    timer.then(() => "late" as const),
  ]);
  ac.abort();
  let r: VirshResult;
  if (first2 === "done") r = await migration;
  else if (postcopy && (await inPostcopy(ctx, d))) {
    // The guest already runs on the target: an abort is impossible, and would lose it. Wait.
    ctx.log.warning(
      `domain ${d.name}: live migration to ${mp.targetHost} not finished after ${secs(Date.now() - started)} but already in post-copy: waiting for it`,
    );
    r = await migration;
  } else {
    ctx.log.warning(
      `domain ${d.name}: live migration to ${mp.targetHost} not finished after ${secs(Date.now() - started)}: aborting the migration job`,
    );
    const a = await run(ctx, ["domjobabort", d.name], stepDeadline(ctx, 10_000));
    if (a.code !== 0)
      ctx.log.warning(`domjobabort of domain ${d.name}: ${noAnswer(ctx, a, "virsh domjobabort")}`);
    r = await migration;
    if (r.code === 0) {
      ctx.log.info(
        `domain ${d.name}: live migration to ${mp.targetHost} completed before the abort took effect`,
      );
      return;
    }
    const here = await observe(ctx, d);
    const runsHere = here.kind === "state" && here.state.health === "running";
    throw new OcfGenericError(
      `domain ${d.name}: live migration to ${mp.targetHost} did not finish within ${secs(abortAt)} (${why}): migration job aborted, domain ${runsHere ? "still runs on this node" : `is ${describe(here)} on this node`}`,
    );
  }
  if (r.code !== 0) {
    const here = await observe(ctx, d);
    throw new OcfGenericError(
      `domain ${d.name}: live migration to ${mp.targetHost} failed: ${noAnswer(ctx, r, "virsh migrate").replace(/^virsh migrate: /, "")} (on this node: ${describe(here)})`,
    );
  }
  ctx.log.info(
    `domain ${d.name}: live migration to ${mp.targetHost} succeeded in ${secs(Date.now() - started)}`,
  );
}

/** Has the migration switched to post-copy? (The source then shows `paused (post-copy)`.) */
async function inPostcopy(ctx: OcfContext, d: Domain): Promise<boolean> {
  const o = await observe(ctx, d, stepDeadline(ctx, 5000));
  return o.kind === "state" && o.state.state === "paused" && /post-?copy/.test(o.state.reason);
}

/** Does this virsh's command know an option? (`virsh help CMD`, bounded; unknown → no.) */
async function virshHasOption(ctx: OcfContext, command: string, option: string): Promise<boolean> {
  const r = await virsh(["help", command], stepDeadline(ctx, 5000), {
    env: ctx.childEnv(),
    signal: ctx.signal,
  });
  return (
    r.code === 0 &&
    new RegExp(`(^|\\s|\\[)${option.replace(/-/g, "\\-")}(\\]|\\s|$)`, "m").test(r.stdout)
  );
}

/**
 * On the target after migrate_to: the guest must run here. Waits (bounded) only while libvirt
 * shows no definite state or monitor scripts fail; shut off or not defined fails at once.
 */
async function migrateFrom(ctx: OcfContext): Promise<void> {
  const { domain: d, configProblem } = await findDomain(ctx);
  if (d === undefined) throw new OcfGenericError(`migrate_from: ${configProblem ?? "no domain"}`);
  const source = ctx.meta("migrate_source");
  let last = "no answer yet";
  for (;;) {
    const o = await settledState(ctx, d, stepDeadline(ctx));
    if (o.kind === "gone" || (o.kind === "state" && o.state.health === "stopped")) {
      throw new OcfGenericError(
        `domain ${d.name} is not running on this node after migration${source === undefined ? "" : ` from ${source}`} (${describe(o)})`,
      );
    }
    if (o.kind === "state" && o.state.health === "failed")
      throw new OcfGenericError(`domain ${d.name} has failed after migration: ${describe(o)}`);
    if (o.kind === "state" && o.state.health === "running") {
      await writeRecord(ctx, d);
      const failed = await runMonitorScripts(ctx, d);
      if (failed === undefined) {
        ctx.log.info(
          `domain ${d.name}: live migration${source === undefined ? "" : ` from ${source}`} succeeded, running here`,
        );
        await updateUtilization(ctx, d, true);
        await saveConfig(ctx, d);
        return;
      }
      last = failed;
    } else last = describe(o);
    if (stepDeadline(ctx).remainingMs() < POLL_MS + 200)
      throw new OcfGenericError(`domain ${d.name} not confirmed running after migration: ${last}`);
    await sleep(POLL_MS, stepDeadline(ctx));
  }
}

/**
 * reload-agent (OCF 1.1): Pacemaker changed only parameters marked reloadable. Each action reads
 * its parameters afresh, so nothing needs to be redone but the utilization, which a changed
 * autoset/unset flag may alter; the domain is not touched.
 */
async function reloadAgent(ctx: OcfContext): Promise<void> {
  const { domain: d } = await findDomain(ctx);
  if (d === undefined) return;
  const o = await settledState(ctx, d, stepDeadline(ctx, 10_000));
  if (o.kind === "state" && o.state.health === "running") await updateUtilization(ctx, d);
  ctx.log.info(`reloaded the parameters of ${ctx.instance}`);
}

export const virtualDomain: OcfAgent = {
  name: "VirtualDomain",
  version: "1.0",
  shortdesc: "Manages virtual domains through the libvirt virtualization framework",
  longdesc:
    "Resource agent for a libvirt virtual domain (a KVM/QEMU guest, or any domain libvirt manages), with the parameters of ocf:heartbeat:VirtualDomain. start creates the domain from its XML file and waits until it runs; stop shuts it down gracefully within the stop timeout less a 15 s reserve, then destroys it, and succeeds only once libvirt no longer shows it running; monitor maps libvirt's states (crashed, or paused on an I/O error, is a failure) and writes the utilization attributes only when they change. A persistent definition of the same name is kept, not undefined. migrate_to live-migrates to the node Pacemaker names (virsh migrate --live) and aborts the migration job if it cannot finish within the operation's timeout, leaving the guest running on the source; migrate_from confirms the guest runs on the target. validate-all with OCF_CHECK_LEVEL=10 also checks the hypervisor, the emulator and libvirt's disk lock manager. Every virsh call is bounded by the operation's timeout.",
  parameters,
  actions: {
    start: { timeout: "90s", run: start },
    stop: { timeout: "90s", run: stop },
    status: { timeout: "30s", interval: "10s", depth: 0, run: monitor },
    monitor: { timeout: "30s", interval: "10s", depth: 0, run: monitor },
    migrate_from: { timeout: "60s", run: migrateFrom },
    migrate_to: { timeout: "120s", run: migrateTo },
    "reload-agent": { timeout: "20s", run: reloadAgent },
  },
  validateTimeout: "5s",
  requiredBinaries: ["virsh"],
  validate,
};

/** Is `program` an executable file in one of PATH's directories? */
function onPath(program: string, path: string | undefined): boolean {
  for (const dir of (path ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").filter((x) => x !== "")) {
    try {
      accessSync(join(dir, program), fsConstants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}
