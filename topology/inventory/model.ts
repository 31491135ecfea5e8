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

export interface Node {
  readonly name: string;
  readonly bmc: Bmc | undefined;
  readonly power: readonly Supply[];
  readonly capacity: Utilization | undefined;
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
}

export interface Sbd {
  readonly devices: readonly string[];
  /** SBD's msgwait on the disk header, seconds: how long fence_sbd waits after writing the poison pill. */
  readonly msgwait: number;
}

export interface TwoNode {
  /** The node that wins a fencing race: its IPMI device carries pcmk_delay_base. */
  readonly preferred: string;
  readonly delay: number;
}

export interface Cluster {
  readonly name: string;
  /** Set by the admin; the renderer refuses one below what the fencing levels can take. */
  readonly stonithTimeout:
    { readonly seconds: number; readonly line: number; readonly col: number } | undefined;
  readonly placementStrategy: "utilization" | "minimal" | "balanced" | undefined;
  readonly twoNode: TwoNode | undefined;
  readonly sbd: Sbd | undefined;
}

export interface Inventory {
  readonly cluster: Cluster;
  readonly nodes: readonly Node[];
  readonly pdus: readonly Pdu[];
  readonly guests: readonly Guest[];
}

/** Defaults, the agents' own where they exist (fence_ipmi, fence_pdu and VirtualDomain metadata). */
export const DEFAULTS = {
  ipmiLoginTimeout: 5,
  ipmiPowerTimeout: 20,
  ipmiRequestTimeout: 2,
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
} as const;
