/**
 * A live migration: where it goes, and the job that runs it.
 *
 * Where: the target hypervisor's URI (remoteuri) and the migration URI for the state transfer,
 * from ocf:heartbeat:VirtualDomain's parameters and Pacemaker's migrate_target. Pure: no virsh, no
 * environment. The reference agent builds these with sed; the rules here are the same where they
 * are well defined, and a clear error where the reference would build a broken URI.
 *
 * The job (MigrationJob): `virsh migrate` running, with its timers: the time at which the caller
 * gives up on it, the downtime limit set once the job runs, the switch to post-copy after a while.
 */
import { type Deadline, secs, sleep } from "../deadline.js";
import { type LibvirtSession, type VirshResult, runVirsh, virshMessage } from "./virsh.js";

export interface MigrationParams {
  /** The local hypervisor URI (the `hypervisor` parameter, or virsh's default as `virsh uri` prints it). */
  readonly hypervisor: string;
  /** OCF_RESKEY_CRM_meta_migrate_target: the target node's name. */
  readonly targetNode: string | undefined;
  readonly remoteuri?: string | undefined;
  readonly migrationTransport?: string | undefined;
  readonly migrationUser?: string | undefined;
  readonly migrationNetworkSuffix?: string | undefined;
  readonly migrateuri?: string | undefined;
  readonly migrateport?: string | undefined;
  readonly migrateOptions?: string | undefined;
}

export interface MigrationPlan {
  /** The target's libvirt URI, the destination argument of `virsh migrate`. */
  readonly remoteUri: string;
  /** The migration URI (`--migrateuri`), or undefined: libvirt picks one from the target's host name. */
  readonly migrateUri: string | undefined;
  /** migrate_options as separate arguments, without any --migrateuri=. */
  readonly options: readonly string[];
  /** The host the state goes to (target node with migration_network_suffix), for log lines. */
  readonly targetHost: string;
}

/** A parameter combination from which no migration target can be built. */
export class MigrationConfigError extends Error {}

const USER = /^[a-z][-a-z0-9]*$/;
const HOST = /^[A-Za-z0-9_.:[\]-]+$/;

/** node1.example.com + "-mig" → node1-mig.example.com (the suffix goes before the first dot). */
export function withSuffix(node: string, suffix: string | undefined): string {
  if (suffix === undefined || suffix === "") return node;
  const dot = node.indexOf(".");
  return dot < 0 ? `${node}${suffix}` : `${node.slice(0, dot)}${suffix}${node.slice(dot)}`;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === "" ? undefined : s.trim();
}

/**
 * The target URI from the local one: `qemu:///system` → `qemu+TRANSPORT://[USER@]HOST/system`.
 * A transport already in the local URI (`qemu+unix`) is replaced by migration_transport when that
 * is set; a port is kept; query parameters that only make sense locally (`socket=`) are dropped.
 */
export function remoteFromLocal(
  local: string,
  host: string,
  transport: string | undefined,
  user: string | undefined,
): string {
  const m =
    /^([A-Za-z][A-Za-z0-9.-]*)(?:\+([A-Za-z0-9-]+))?:\/\/([^/?]*)(\/[^?]*)?(?:\?(.*))?$/.exec(
      local,
    );
  if (m === null)
    throw new MigrationConfigError(
      `cannot derive the target URI from hypervisor URI '${local}': set remoteuri`,
    );
  const driver = m[1] ?? "";
  const scheme =
    transport !== undefined
      ? `${driver}+${transport}`
      : m[2] !== undefined && m[2] !== "unix"
        ? `${driver}+${m[2]}`
        : driver;
  const authority = m[3] ?? "";
  const port = /:(\d+)$/.exec(authority)?.[1];
  const query = (m[5] ?? "").split("&").filter((kv) => kv !== "" && !/^socket=/.test(kv));
  const who = user !== undefined ? `${user}@` : "";
  return `${scheme}://${who}${host}${port === undefined ? "" : `:${port}`}${m[4] ?? "/"}${query.length === 0 ? "" : `?${query.join("&")}`}`;
}

/** The migration plan, or a MigrationConfigError naming what is missing or malformed. */
export function migrationPlan(p: MigrationParams): MigrationPlan {
  const target = nonEmpty(p.targetNode);
  const remoteuri = nonEmpty(p.remoteuri);
  const migrateuriParam = nonEmpty(p.migrateuri);
  const options = (p.migrateOptions ?? "").split(/\s+/).filter((s) => s !== "");
  const fromOptions = options
    .find((o) => o.startsWith("--migrateuri="))
    ?.slice("--migrateuri=".length);
  const rest = options.filter((o) => !o.startsWith("--migrateuri="));
  const needsTarget =
    remoteuri === undefined ||
    remoteuri.includes("%n") ||
    (migrateuriParam ?? fromOptions ?? "").includes("%n") ||
    (migrateuriParam === undefined &&
      fromOptions === undefined &&
      nonEmpty(p.migrationNetworkSuffix) !== undefined);
  if (target === undefined && needsTarget) {
    throw new MigrationConfigError(
      "no migration target: OCF_RESKEY_CRM_meta_migrate_target is not set (migrate_to is run by Pacemaker, which names the target node)",
    );
  }
  if (target !== undefined && !HOST.test(target))
    throw new MigrationConfigError(`migration target '${target}' is not a host name`);
  const node = target ?? "";
  const host = withSuffix(node, nonEmpty(p.migrationNetworkSuffix));
  const user = nonEmpty(p.migrationUser);
  if (user !== undefined && !USER.test(user) && remoteuri === undefined)
    throw new MigrationConfigError(`migration_user '${user}' is not a user name`);

  let remoteUri: string;
  if (remoteuri !== undefined) remoteUri = remoteuri.replaceAll("%n", node);
  else {
    const local = nonEmpty(p.hypervisor);
    if (local === undefined)
      throw new MigrationConfigError(
        "no hypervisor URI to derive the target URI from: set hypervisor or remoteuri",
      );
    remoteUri = remoteFromLocal(local, host, nonEmpty(p.migrationTransport), user);
  }

  let migrateUri: string | undefined;
  if (migrateuriParam !== undefined) migrateUri = migrateuriParam.replaceAll("%n", host);
  else if (fromOptions !== undefined && fromOptions !== "")
    migrateUri = fromOptions.replaceAll("%n", host);
  else if (nonEmpty(p.migrationNetworkSuffix) !== undefined) {
    // As the reference's mk_migrateuri: the state goes over the migration network.
    const driver = /^([A-Za-z]+)/.exec(nonEmpty(p.hypervisor) ?? remoteUri)?.[1] ?? "";
    const port = nonEmpty(p.migrateport);
    if (driver === "qemu") migrateUri = `tcp://${host}${port === undefined ? "" : `:${port}`}`;
    else if (driver === "xen") migrateUri = host;
    else migrateUri = `${driver}+tcp://${host}${port === undefined ? "" : `:${port}`}`;
  }
  return { remoteUri, migrateUri, options: rest, targetHost: host === "" ? remoteUri : host };
}

export interface MigrationJobOptions {
  /** How long after its start the job is given up (the caller then aborts it, or waits). */
  readonly abortAtMs: number;
  /** migrate-setmaxdowntime once the job runs, in ms; 0: libvirt's default. */
  readonly downtimeMs: number;
  /** migrate-postcopy after this long; undefined: no switch by hand (none, or libvirt's own). */
  readonly postcopyAfterMs: number | undefined;
}

/**
 * `virsh migrate ARGS` for domain `name`, started at construction and bounded by `whole`; beside
 * it, the downtime limit (asked once the job exists, retried briefly) and the switch to post-copy.
 * Neither goes on once virsh migrate has returned or the give-up time is near.
 */
export class MigrationJob {
  private readonly startedAt = Date.now();
  private readonly migration: Promise<VirshResult>;
  private result: VirshResult | undefined;

  constructor(
    private readonly session: LibvirtSession,
    private readonly name: string,
    args: readonly string[],
    private readonly whole: Deadline,
    private readonly opts: MigrationJobOptions,
  ) {
    this.migration = runVirsh(session, args, whole);
    void this.migration.then((r) => {
      this.result = r;
    });
    void this.limitDowntime();
    void this.switchToPostcopy();
  }

  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  /** "done" once virsh migrate returned, "late" when the give-up time came first. */
  async outcome(): Promise<"done" | "late"> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(
        () => resolve("late"),
        Math.max(0, this.opts.abortAtMs - this.elapsedMs()),
      );
    });
    try {
      return await Promise.race([this.migration.then(() => "done" as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** What virsh migrate came to (after an abort: once it returned). */
  finished(): Promise<VirshResult> {
    return this.migration;
  }

  /** Still worth a side step: virsh migrate runs and the give-up time is over a second away. */
  private active(): boolean {
    return this.result === undefined && this.elapsedMs() < this.opts.abortAtMs - 1000;
  }

  // The downtime can be set only while the job runs: asked once it has started, retried briefly.
  private async limitDowntime(): Promise<void> {
    const ms = this.opts.downtimeMs;
    if (ms <= 0) return;
    for (let i = 0; i < 20 && this.active(); i++) {
      await sleep(250);
      if (this.result !== undefined) return;
      const r = await runVirsh(
        this.session,
        ["migrate-setmaxdowntime", this.name, String(ms)],
        this.whole.within(5000),
      );
      if (r.code === 0) {
        this.session.log.info(`domain ${this.name}: migration downtime limit set to ${ms} ms`);
        return;
      }
    }
    if (this.result === undefined)
      this.session.log.warning(
        `domain ${this.name}: could not set the migration downtime to ${ms} ms`,
      );
  }

  // Post-copy without libvirt's own switch: after the pre-copy time asked for (at least 1 s).
  private async switchToPostcopy(): Promise<void> {
    const after = this.opts.postcopyAfterMs;
    if (after === undefined) return;
    const at = Math.max(1000, after);
    if (at >= this.opts.abortAtMs - 1000) return;
    await sleep(at);
    for (let i = 0; i < 10 && this.active(); i++) {
      const r = await runVirsh(
        this.session,
        ["migrate-postcopy", this.name],
        this.whole.within(5000),
      );
      if (this.result !== undefined) return;
      if (r.code === 0) {
        this.session.log.info(
          `domain ${this.name}: migration switched to post-copy after ${secs(this.elapsedMs())}`,
        );
        return;
      }
      this.session.log.debug(`migrate-postcopy: ${virshMessage(r)}`);
      await sleep(500);
    }
  }
}
