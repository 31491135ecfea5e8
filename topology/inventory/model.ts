/**
 * The inventory as the renderer sees it: validated, defaults applied, references resolved to
 * names that are known to exist. Built only by validate.ts; everything here is already safe to
 * render (names fit Pacemaker ids, addresses are addresses, outlets are unique per PDU).
 */

/** Where a secret comes from. Only the reference is kept: kvmha never reads the secret. */
export type SecretRef =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "script"; readonly command: string };

export interface Bmc {
  /** How it is fenced: ipmi (fence_ipmi) or redfish (fence_redfish); agents register protocols. */
  readonly protocol: string;
  readonly address: string;
  readonly port: number | undefined;
  readonly user: string | undefined;
  readonly password: SecretRef | undefined;
  readonly cipher: 3 | 17 | undefined;
  readonly lanplus: boolean | undefined;
  readonly privlvl: "operator" | "administrator" | undefined;
  /** The agent's own timeouts, seconds (the agent's defaults when absent in the inventory). */
  readonly loginTimeout: number;
  readonly powerTimeout: number;
  /** One IPMI request, retransmissions included (fence_ipmi's ipmitool_timeout), seconds. */
  readonly requestTimeout: number;
  /** fence_ipmi's method; undefined: the agent's default (onoff, verified). */
  readonly method: "onoff" | "cycle" | undefined;
  /** The BMC's Kg key (IPMI 2.0 two-key login), by reference: hexadecimal_kg_script. */
  readonly kg: SecretRef | undefined;
  /** redfish: how the certificate is trusted (fence_redfish's options; none: the system's CAs). */
  readonly tls: {
    readonly insecure: boolean | undefined;
    readonly cacert: string | undefined;
    readonly fingerprint: string | undefined;
  };
  /** redfish: the system's resource; undefined: the agent finds the one member of Systems. */
  readonly systemsUri: string | undefined;
}

/** One power supply of a node: the PDU feeding it and the outlet(s) it is plugged into. */
export interface Supply {
  readonly pdu: string;
  readonly outlets: readonly string[];
}

export interface Utilization {
  readonly cpu: number | undefined;
  /** MiB. */
  readonly memory: number | undefined;
}

/** A Pacemaker Remote node's connection (ocf:pacemaker:remote): where pacemaker-remoted listens. */
export interface RemoteConnection {
  /** The host the cluster connects to (the connection's `server`); undefined: the node's name. */
  readonly address: string | undefined;
  /** pacemaker-remoted's TCP port; undefined: Pacemaker's default (3121). */
  readonly port: number | undefined;
  /** Seconds between reconnection attempts after the connection was lost (and the node fenced). */
  readonly reconnectInterval: number;
}

export interface Node {
  readonly name: string;
  readonly bmc: Bmc | undefined;
  readonly power: readonly Supply[];
  readonly capacity: Utilization | undefined;
  /** A Pacemaker Remote node (not a corosync member): fenced like a member, runs guests, never a device. */
  readonly remote: RemoteConnection | undefined;
}

export type SnmpVersion = "1" | "2c" | "3";

export interface Pdu {
  readonly name: string;
  readonly address: string;
  readonly port: number | undefined;
  readonly snmpVersion: SnmpVersion;
  /** v1/v2c: where the community comes from, rendered as fence_pdu's community_script. */
  readonly community: SecretRef | undefined;
  readonly user: string | undefined;
  readonly authProtocol: string | undefined;
  readonly authPassword: SecretRef | undefined;
  readonly privProtocol: string | undefined;
  readonly privPassword: SecretRef | undefined;
  readonly device: string | undefined;
  readonly loginTimeout: number;
  readonly shellTimeout: number;
  readonly powerTimeout: number;
}

export interface Migration {
  readonly transport: string | undefined;
  readonly user: string | undefined;
  readonly networkSuffix: string | undefined;
  /** MiB/s. */
  readonly speed: number | undefined;
  /** ms. */
  readonly downtime: number | undefined;
  /** VirtualDomain's migrateuri: the state transfer's own URI (%n: the target node). */
  readonly uri: string | undefined;
  /** VirtualDomain's migrateport: the port of the migration network's URI. */
  readonly port: number | undefined;
}

/** Operation timeouts and the monitor interval, seconds. */
export interface GuestTimeouts {
  readonly start: number;
  readonly stop: number;
  readonly monitor: number;
  readonly monitorInterval: number;
  readonly migrateTo: number;
  readonly migrateFrom: number;
}

export interface Guest {
  readonly name: string;
  readonly config: string;
  readonly hypervisor: string;
  readonly allowMigrate: boolean;
  readonly migration: Migration;
  readonly utilization: Utilization | undefined;
  readonly timeouts: GuestTimeouts;
  /** Meta priority: who keeps running when not all can (and who wins priority-fencing-delay). */
  readonly priority: number | undefined;
  /** Meta target-role: Stopped for a guest defined but not yet started (a staged roll-out). */
  readonly targetRole: "Started" | "Stopped" | undefined;
  /** Failures on one node before the guest moves away (meta migration-threshold). */
  readonly migrationThreshold: number;
  /** Seconds after which a guest's failures are forgotten (meta failure-timeout). */
  readonly failureTimeout: number;
  /** The clones this guest needs started on its node first: storage, then the libvirt daemon. */
  readonly requires: readonly string[];
  /** kvmha check findings deliberately accepted for this guest (meta kvmha-waive). */
  readonly waive: readonly string[];
}

export interface Sbd {
  readonly devices: readonly string[];
  /** SBD's msgwait on the disk header, seconds: how long fence_sbd waits after writing the poison pill. */
  readonly msgwait: number;
}

/**
 * How a two-node cluster breaks a fence race: `preferred` delays fencing one chosen node
 * (pcmk_delay_base on its devices); `random` delays every device by up to `delay` (pcmk_delay_max);
 * `priority` delays fencing the node that runs the guests with the higher priority
 * (priority-fencing-delay).
 */
export type FenceRace = "preferred" | "random" | "priority";

export interface TwoNode {
  /** The node that wins a fencing race (strategy preferred): its devices carry pcmk_delay_base. */
  readonly preferred: string;
  readonly delay: number;
  readonly strategy: FenceRace;
}

export interface Cluster {
  readonly name: string;
  /** Set by the admin; the renderer refuses one below what the fencing levels can take. */
  readonly stonithTimeout:
    { readonly seconds: number; readonly line: number; readonly col: number } | undefined;
  readonly placementStrategy: "utilization" | "minimal" | "balanced" | undefined;
  readonly twoNode: TwoNode | undefined;
  readonly sbd: Sbd | undefined;
  /** The Pacemaker generation to render for (2: pcs 0.11, crmsh 4.4; 3: pcs 0.12, crmsh 5). */
  readonly pacemaker: 2 | 3 | undefined;
  /** rsc_defaults resource-stickiness: resources stay where they run (no failback); 0: they move back. */
  readonly resourceStickiness: number;
  /** kvmha check findings deliberately accepted for the whole cluster (rsc_defaults kvmha-waive). */
  readonly waive: readonly string[];
}

/** Resources the guests need, created outside kvmha (clones): ordered before and colocated with each guest. */
export interface Dependencies {
  /** GFS2/OCFS2/NFS/LVM-activate clones holding the guests' disks and domain XML. */
  readonly storage: readonly string[];
  /** The libvirt daemon's clone (libvirtd, or virtqemud with modular daemons). */
  readonly libvirt: string | undefined;
}

export interface Inventory {
  readonly cluster: Cluster;
  readonly nodes: readonly Node[];
  readonly pdus: readonly Pdu[];
  readonly guests: readonly Guest[];
  readonly dependencies: Dependencies;
}

/** Defaults, the agents' own where they exist (fence_ipmi, fence_pdu and VirtualDomain metadata). */
export const DEFAULTS = {
  ipmiLoginTimeout: 5,
  ipmiPowerTimeout: 20,
  ipmiRequestTimeout: 2,
  /** fence_redfish's shell_timeout: one HTTPS request. */
  redfishRequestTimeout: 10,
  pduLoginTimeout: 5,
  pduShellTimeout: 3,
  pduPowerTimeout: 20,
  hypervisor: "qemu:///system",
  guestStart: 90,
  guestStop: 90,
  guestMonitor: 30,
  guestMonitorInterval: 10,
  guestMigrateTo: 120,
  guestMigrateFrom: 60,
  twoNodeDelay: 15,
  sbdMsgwait: 10,
  /** Above any location preference render writes (none positive): a running resource stays put. */
  resourceStickiness: 100,
  /** A guest that fails three times on a node moves away (Pacemaker's default, INFINITY, never). */
  guestMigrationThreshold: 3,
  /** Its failures are forgotten after 10 minutes, so the node may take it again. */
  guestFailureTimeout: 600,
  remoteReconnectInterval: 60,
} as const;
