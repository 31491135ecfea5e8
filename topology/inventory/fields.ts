// Why one file: it is the one table of the inventory's fields; split, it would no longer be one.
/**
 * The inventory's one table of fields: every section's keys, and for each its kind, range,
 * pattern or choices, and what it means. The validator (validate.ts) reads a field's rules from
 * here; the JSON Schema shipped for editors (crm-templates/inventory.schema.json) is generated from
 * it (schema.ts; a unit test holds the file to the table). What a table cannot say (references
 * between sections, outlets used twice, SNMP versions and their credentials) the validator checks
 * by hand.
 */
import { SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS } from "../../lib/fence/groups.js";
import { bmcProtocols } from "../agents.js";
import { PDU_PROFILES } from "../../lib/pdu-profiles/index.js";
import { WAIVABLE_FINDING_IDS } from "../check/findings.js";

// Pacemaker node names as corosync/uname give them; device ids are built from them.
export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
// PDU names and guest names become (parts of) CIB ids, which are XML IDs: a letter or _ first.
export const ID_NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,62}$/;
// Paths are rendered inside password_script commands (run by /bin/sh) and pcs/crmsh words: a
// plain character set keeps them one shell word without quoting inside quoting.
export const SAFE_PATH = /^\/[A-Za-z0-9._/+@%:=-]*$/;
export const OUTLET = /^(?:\d+|\d+:\d+|[A-Za-z_][A-Za-z0-9_.-]*)$/;

/**
 * Limits on what no cluster needs more of, so that a mistake (a pasted blob, a generated list gone
 * wrong) is one clear error and not a configuration no tool can handle. The longest text: paths,
 * commands, user names (names and addresses have their own, shorter patterns).
 */
export const MAX_TEXT = 1024;
/** The most items of any list (nodes, PDUs, guests). */
export const MAX_ITEMS = 10_000;
/** The most outlets of one supply (a server has a few power supplies, a chassis a dozen). */
export const MAX_OUTLETS = 24;

/** The snmp option group's snmp_auth_prot and snmp_priv_prot choices (lib/fence/groups.ts). */
export { SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS };

/** fence_pdu's device profiles (its `device=` choices): the profiles' own table, so the two never differ. */
export function pduDevices(): string[] {
  return PDU_PROFILES.map((p) => p.id);
}

interface Common {
  readonly required?: boolean;
  /** What the field is, for the schema's description. */
  readonly description?: string;
}

export type Field = Common &
  (
    | {
        /** A non-empty string without control characters. */
        readonly kind: "text";
        /** What a valid value is, for messages: "a node name as Pacemaker knows it (…)". */
        readonly expected: string;
        readonly pattern?: RegExp;
        /** A check a pattern cannot say (addresses); the schema then asks only for a non-empty string. */
        readonly check?: (value: string) => boolean;
      }
    | {
        readonly kind: "integer";
        readonly min: number;
        readonly max: number;
        /** After the range in messages: " seconds". */
        readonly unit?: string;
        /** The only values allowed within the range (cipher: 3 or 17). */
        readonly values?: readonly number[];
      }
    | { readonly kind: "boolean" }
    | {
        readonly kind: "choice";
        readonly choices: () => readonly string[];
        /** YAML reads `3` as a number: the numeric choices are accepted as numbers too. */
        readonly numeric?: boolean;
      }
    | { readonly kind: "section"; readonly section: Section }
    | {
        readonly kind: "list";
        readonly of: Section;
        /** What the list holds, for messages: "nodes (name, bmc, power)". */
        readonly what: string;
        readonly minItems?: number;
      }
    | {
        /** A list of names: each matching `pattern`, or one of `choices`; none twice. */
        readonly kind: "words";
        /** What the list holds, for messages and the schema: "resource ids of clones". */
        readonly what: string;
        /** What one item is, for messages: "a resource id". */
        readonly item: string;
        readonly pattern?: RegExp;
        readonly choices?: () => readonly string[];
      }
    | {
        /** A list of absolute paths (SBD's devices). */
        readonly kind: "paths";
        readonly what: string;
        readonly minItems: number;
        readonly maxItems: number;
        readonly item: string;
      }
    /** One outlet, or a list of them: a number, unit:outlet, or a name. */
    | { readonly kind: "outlets" }
    /** `<prefix>_file`: a root-only file holding a secret. */
    | { readonly kind: "secret-file" }
    /** `<prefix>_script`: a command printing a secret on its first line. */
    | { readonly kind: "secret-script" }
  );

/** A secret given as `<prefix>_file` or `<prefix>_script`, never both. */
export interface SecretSpec {
  readonly prefix: string;
  /** What it is, for messages: "the BMC password". */
  readonly what: string;
  readonly required: boolean;
}

export interface SectionSpec {
  readonly description?: string;
  readonly fields: Readonly<Record<string, Field>>;
  readonly secrets?: readonly SecretSpec[];
  /** At least one field must be given (utilization: cpu and/or memory). */
  readonly notEmpty?: boolean;
}

const seconds = (min: number, max: number, description?: string): Field => ({
  kind: "integer",
  min,
  max,
  unit: " seconds",
  description,
});
const fixed =
  (...choices: string[]): (() => readonly string[]) =>
  () =>
    choices;

/** The mappings of an inventory: the document itself and each section it nests. */
export type Section =
  | "inventory"
  | "cluster"
  | "two_node"
  | "sbd"
  | "dependencies"
  | "guest_defaults"
  | "node"
  | "remote"
  | "bmc"
  | "supply"
  | "pdu"
  | "guest"
  | "migration"
  | "utilization"
  | "timeouts";

export const SECTIONS: Readonly<Record<Section, SectionSpec>> = {
  inventory: {
    fields: {
      cluster: { kind: "section", section: "cluster", required: true },
      nodes: {
        kind: "list",
        of: "node",
        what: "nodes (name, bmc, power)",
        minItems: 2,
        required: true,
      },
      pdus: { kind: "list", of: "pdu", what: "PDUs (name, address, snmp_version, …)" },
      guests: { kind: "list", of: "guest", what: "guests (name, config, …)" },
      dependencies: { kind: "section", section: "dependencies" },
      guest_defaults: { kind: "section", section: "guest_defaults" },
    },
  },
  cluster: {
    fields: {
      name: {
        kind: "text",
        required: true,
        expected: "a cluster name (letters, digits, ._-)",
        pattern: NODE_NAME,
      },
      stonith_timeout: seconds(
        10,
        3600,
        "seconds; computed from the devices when absent, refused when below that",
      ),
      placement_strategy: {
        kind: "choice",
        choices: fixed("utilization", "minimal", "balanced"),
        description: "default balanced when nodes have capacity",
      },
      two_node: { kind: "section", section: "two_node" },
      sbd: { kind: "section", section: "sbd" },
      pacemaker: {
        kind: "choice",
        choices: fixed("2", "3"),
        numeric: true,
        description:
          "the Pacemaker generation to render for: 2 (pcs 0.11, crmsh 4.4) or 3 (pcs 0.12, crmsh 5); default: --pacemaker, else the live cluster's",
      },
      resource_stickiness: {
        kind: "integer",
        min: 0,
        max: 1_000_000,
        description:
          "rsc_defaults resource-stickiness (default 100): a running guest or device stays where it is when a failed node returns; 0 lets everything move back",
      },
      waive: {
        kind: "words",
        what: "kvmha check warnings accepted on purpose, for the whole cluster",
        item: "a kvmha check warning id",
        choices: () => WAIVABLE_FINDING_IDS,
        description:
          "kvmha check warnings accepted on purpose for the whole cluster (rsc_defaults kvmha-waive)",
      },
    },
  },
  two_node: {
    description: "two-node clusters only",
    fields: {
      strategy: {
        kind: "choice",
        choices: fixed("preferred", "random", "priority"),
        description:
          "how a fence race is broken: preferred (default: fencing the preferred node waits, pcmk_delay_base), random (every device waits up to delay, pcmk_delay_max), priority (fencing the node with the higher-priority guests waits, priority-fencing-delay)",
      },
      preferred: {
        kind: "text",
        expected: "the name of one of the two nodes",
        description:
          "the node that wins a fencing race (strategy preferred; default: the first node)",
      },
      delay: seconds(
        1,
        120,
        "seconds (default 15): pcmk_delay_base of the preferred node's devices, pcmk_delay_max, or priority-fencing-delay",
      ),
    },
  },
  sbd: {
    description: "SBD on shared disks: a fence_sbd device as the last fencing level",
    fields: {
      devices: {
        kind: "paths",
        required: true,
        what: "shared block devices (/dev/disk/by-id/…)",
        minItems: 1,
        maxItems: 3,
        item: "shared block device",
      },
      msgwait: {
        kind: "integer",
        min: 2,
        max: 300,
        unit: " seconds (as sbd -d DEV dump shows)",
        description: "seconds, as sbd -d DEV dump shows (default 10)",
      },
    },
  },
  dependencies: {
    description:
      "resources the guests need, created outside kvmha (clones): each guest is ordered after them and colocated with them",
    fields: {
      storage: {
        kind: "words",
        what: "clones of the guests' shared storage (GFS2, OCFS2, NFS, LVM-activate)",
        item: "a resource id",
        pattern: ID_NAME,
        description:
          "clones of the shared storage the guests' disks and domain XML are on (GFS2, OCFS2, NFS, LVM-activate)",
      },
      libvirt: {
        kind: "text",
        expected: "the resource id of the libvirt daemon's clone",
        pattern: ID_NAME,
        description: "the clone that runs the libvirt daemon (libvirtd, or virtqemud)",
      },
    },
  },
  guest_defaults: {
    description: "what every guest gets unless it says otherwise",
    fields: {
      migration_threshold: {
        kind: "integer",
        min: 0,
        max: 1_000_000,
        description:
          "failures on one node before a guest moves away (meta migration-threshold; default 3; 0: never)",
      },
      failure_timeout: seconds(
        0,
        86_400,
        "seconds after which a guest's failures are forgotten (meta failure-timeout; default 600; 0: never)",
      ),
    },
  },
  node: {
    fields: {
      name: {
        kind: "text",
        required: true,
        expected: "a node name as Pacemaker knows it (letters, digits, ._-)",
        pattern: NODE_NAME,
        description: "the node name Pacemaker uses",
      },
      bmc: { kind: "section", section: "bmc" },
      power: {
        kind: "list",
        of: "supply",
        what: "power supplies (pdu, outlets)",
        description: "the power supplies, one entry per PDU",
      },
      capacity: { kind: "section", section: "utilization" },
      remote: { kind: "section", section: "remote" },
    },
  },
  remote: {
    description:
      "a Pacemaker Remote node (pacemaker-remoted, not a corosync member): fenced like a member, runs guests",
    fields: {
      address: {
        kind: "text",
        expected: "the address pacemaker-remoted listens on (IPv4, IPv6 or host name)",
        check: isAddress,
        description: "where the cluster connects to it (default: the node's name)",
      },
      port: { kind: "integer", min: 1, max: 65535, description: "default 3121" },
      reconnect_interval: seconds(
        1,
        3600,
        "seconds between reconnection attempts once the connection was lost (default 60)",
      ),
    },
  },
  bmc: {
    secrets: [
      { prefix: "password", what: "the BMC password", required: true },
      { prefix: "hexadecimal_kg", what: "the BMC's Kg key", required: false },
    ],
    fields: {
      protocol: {
        kind: "choice",
        choices: bmcProtocols,
        description:
          "how the BMC is fenced: ipmi (default: fence_ipmi) or redfish (fence_redfish: HTTPS, for BMCs whose IPMI over LAN is off)",
      },
      address: {
        kind: "text",
        required: true,
        expected: "the BMC's IPv4/IPv6 address or host name",
        check: isAddress,
        description: "IPv4 or IPv6 address or DNS host name",
      },
      port: {
        kind: "integer",
        min: 1,
        max: 65535,
        description: "default 623 (ipmi), 443 (redfish)",
      },
      user: { kind: "text", expected: "the BMC user name" },
      password_file: {
        kind: "secret-file",
        description: "root-only file holding the BMC password",
      },
      password_script: {
        kind: "secret-script",
        description: "command printing the BMC password on its first line",
      },
      cipher: {
        kind: "integer",
        min: 0,
        max: 17,
        values: [3, 17],
        description: "RMCP+ cipher suite fence_ipmi speaks",
      },
      lanplus: { kind: "boolean" },
      privlvl: { kind: "choice", choices: fixed("operator", "administrator") },
      login_timeout: seconds(1, 120, "fence_ipmi login_timeout, seconds (default 5)"),
      power_timeout: seconds(1, 600, "fence_ipmi power_timeout, seconds (default 20)"),
      ipmitool_timeout: seconds(
        1,
        60,
        "fence_ipmi ipmitool_timeout: one request with its retransmissions, seconds (default 2)",
      ),
      method: {
        kind: "choice",
        choices: fixed("onoff", "cycle"),
        description:
          "onoff (default: off read back, then on) or cycle (the BMC's own power cycle, which is not verified)",
      },
      hexadecimal_kg_file: {
        kind: "secret-file",
        description: "root-only file holding the BMC's Kg key in hexadecimal (two-key login)",
      },
      hexadecimal_kg_script: {
        kind: "secret-script",
        description: "command printing the BMC's Kg key in hexadecimal on its first line",
      },
      // protocol: redfish (fence_redfish's options of the same names)
      ssl_insecure: {
        kind: "boolean",
        description:
          "redfish: do not verify the BMC's certificate (default: verified against the system's CAs)",
      },
      ssl_cacert: {
        kind: "text",
        expected: "an absolute path of plain characters",
        pattern: SAFE_PATH,
        description: "redfish: PEM file of the CAs that sign the BMC's certificate",
      },
      ssl_fingerprint: {
        kind: "text",
        expected:
          "SHA-256 fingerprints (64 hexadecimal digits each, colons allowed; several separated by commas)",
        pattern: /^[0-9A-Fa-f:]{64,95}(,[0-9A-Fa-f:]{64,95})*$/,
        description: "redfish: trust the BMC's certificate by its SHA-256 fingerprint",
      },
      systems_uri: {
        kind: "text",
        expected: "a Redfish path beginning with /redfish/v1/Systems/",
        pattern: /^\/redfish\/v1\/Systems\/[A-Za-z0-9._~%-]+$/,
        description:
          "redfish: the system's resource (default: the one member of the Systems collection)",
      },
      shell_timeout: seconds(
        1,
        60,
        "redfish: fence_redfish shell_timeout: one HTTPS request, seconds (default 10)",
      ),
    },
  },
  supply: {
    fields: {
      pdu: {
        kind: "text",
        required: true,
        expected: "the name of a PDU defined under pdus",
        description: "name of a PDU under pdus",
      },
      outlets: { kind: "outlets", required: true },
    },
  },
  pdu: {
    secrets: [
      { prefix: "community", what: "the SNMP community", required: false },
      { prefix: "auth_password", what: "the SNMPv3 authentication password", required: false },
      { prefix: "priv_password", what: "the SNMPv3 privacy password", required: false },
    ],
    fields: {
      name: {
        kind: "text",
        required: true,
        expected: "a PDU name (a letter or _ first, then letters, digits, ._-)",
        pattern: ID_NAME,
      },
      address: {
        kind: "text",
        required: true,
        expected: "the PDU's IPv4/IPv6 address or host name",
        check: isAddress,
        description: "IPv4 or IPv6 address or DNS host name",
      },
      port: { kind: "integer", min: 1, max: 65535 },
      snmp_version: {
        kind: "choice",
        choices: fixed("1", "2c", "3"),
        numeric: true,
        required: true,
      },
      community_file: {
        kind: "secret-file",
        description:
          "v1/v2c: root-only file holding the community (rendered as community_script=/bin/cat FILE)",
      },
      community_script: {
        kind: "secret-script",
        description:
          "v1/v2c: command printing the community on its first line (fence_pdu's community_script)",
      },
      user: { kind: "text", expected: "the SNMPv3 user name", description: "v3 user" },
      auth_protocol: { kind: "choice", choices: () => SNMP_AUTH_PROTOCOLS },
      auth_password_file: {
        kind: "secret-file",
        description: "v3: root-only file holding the authentication password",
      },
      auth_password_script: {
        kind: "secret-script",
        description: "v3: command printing the authentication password",
      },
      priv_protocol: { kind: "choice", choices: () => SNMP_PRIV_PROTOCOLS },
      priv_password_file: {
        kind: "secret-file",
        description: "v3: root-only file holding the privacy password",
      },
      priv_password_script: {
        kind: "secret-script",
        description: "v3: command printing the privacy password",
      },
      device: {
        kind: "choice",
        choices: pduDevices,
        description: "fence_pdu profile, when the sysObjectID does not say it",
      },
      login_timeout: seconds(1, 120, "fence_pdu login_timeout, seconds (default 5)"),
      shell_timeout: seconds(1, 60, "fence_pdu shell_timeout, seconds (default 3)"),
      power_timeout: seconds(1, 600, "fence_pdu power_timeout, seconds (default 20)"),
    },
  },
  guest: {
    fields: {
      name: {
        kind: "text",
        required: true,
        expected: "a resource name (a letter or _ first, then letters, digits, ._-)",
        pattern: ID_NAME,
        description: "resource id",
      },
      config: {
        kind: "text",
        required: true,
        expected: "the absolute path of the domain XML on shared storage",
        pattern: /^\//,
        description: "domain XML on shared storage",
      },
      hypervisor: {
        kind: "text",
        expected: "a libvirt URI such as qemu:///system",
        pattern: /^[a-z][a-z0-9+]*:\/\/\S*$/,
        description: "libvirt URI (default qemu:///system)",
      },
      allow_migrate: {
        kind: "boolean",
        description: "default true; false is a deliberate choice kvmha check accepts (waived)",
      },
      migration: { kind: "section", section: "migration" },
      utilization: { kind: "section", section: "utilization" },
      timeouts: { kind: "section", section: "timeouts" },
      priority: {
        kind: "integer",
        min: 0,
        max: 1_000_000,
        description:
          "meta priority: which guests keep running when not all can (and, with two_node strategy priority, whose node wins a fence race)",
      },
      target_role: {
        kind: "choice",
        choices: fixed("Started", "Stopped"),
        description:
          "meta target-role: Stopped defines the guest without starting it (a staged roll-out: pcs resource enable later)",
      },
      migration_threshold: {
        kind: "integer",
        min: 0,
        max: 1_000_000,
        description: "meta migration-threshold (default: guest_defaults, else 3; 0: never)",
      },
      failure_timeout: seconds(
        0,
        86_400,
        "meta failure-timeout, seconds (default: guest_defaults, else 600; 0: never)",
      ),
      requires: {
        kind: "words",
        what: "the dependencies this guest needs (names under dependencies)",
        item: "a name under dependencies",
        pattern: ID_NAME,
        description: "the dependencies this guest needs (default: every one under dependencies)",
      },
      waive: {
        kind: "words",
        what: "kvmha check warnings accepted on purpose for this guest",
        item: "a kvmha check warning id",
        choices: () => WAIVABLE_FINDING_IDS,
        description: "kvmha check warnings accepted on purpose for this guest (meta kvmha-waive)",
      },
    },
  },
  migration: {
    fields: {
      transport: { kind: "choice", choices: fixed("ssh", "tcp", "tls", "libssh2", "libssh") },
      user: { kind: "text", expected: "a user name", pattern: /^[A-Za-z_][A-Za-z0-9._-]*$/ },
      network_suffix: {
        kind: "text",
        expected: "a host name suffix such as -mig",
        pattern: /^[A-Za-z0-9._-]+$/,
      },
      speed: { kind: "integer", min: 1, max: 100_000, unit: " MiB/s", description: "MiB/s" },
      downtime: { kind: "integer", min: 1, max: 60_000, unit: " ms", description: "ms" },
      uri: {
        kind: "text",
        expected: "a migration URI such as tcp://%n-mig:49152 (%n: the target node)",
        pattern: /^[a-z][a-z0-9+]*:\/\/[A-Za-z0-9%._:[\]/-]+$/,
        description: "VirtualDomain's migrateuri: the state transfer's URI (%n: the target node)",
      },
      port: {
        kind: "integer",
        min: 1,
        max: 65535,
        description: "VirtualDomain's migrateport, for the migration network's URI",
      },
    },
  },
  utilization: {
    notEmpty: true,
    fields: {
      cpu: { kind: "integer", min: 1, max: 100_000, unit: " (cores)", description: "cores" },
      memory: { kind: "integer", min: 1, max: 1_000_000_000, unit: " MiB", description: "MiB" },
    },
  },
  timeouts: {
    description:
      "seconds; VirtualDomain defaults: start 90, stop 90, monitor 30 every 10, migrate_to 120, migrate_from 60",
    fields: {
      start: seconds(5, 3600),
      // VirtualDomain keeps 15 s of its stop for destroy: a shorter stop never shuts down gracefully.
      stop: {
        kind: "integer",
        min: 20,
        max: 3600,
        unit: " seconds (VirtualDomain keeps 15 s of it for destroy)",
      },
      monitor: seconds(5, 600),
      monitor_interval: seconds(1, 3600),
      migrate_to: seconds(10, 86_400),
      migrate_from: seconds(5, 3600),
    },
  },
};

/** The keys each mapping of an inventory may have, in the table's order. */
export function keysOf(section: Section): string[] {
  return Object.keys(SECTIONS[section].fields);
}

/** The rules of `key` in `section` (a programming error when the table has no such field). */
export function fieldOf(section: Section, key: string): Field {
  const f = SECTIONS[section].fields[key];
  if (f === undefined) throw new Error(`inventory table: ${section} has no field ${key}`);
  return f;
}

function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(":")) return false;
  let rest = s;
  const lastColon = rest.lastIndexOf(":");
  const tail = rest.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!isIPv4(tail)) return false;
    rest = `${rest.slice(0, lastColon + 1)}0:0`;
  }
  const halves = rest.split("::");
  if (halves.length > 2) return false;
  const count = (h: string): number | undefined => {
    if (h === "") return 0;
    const gs = h.split(":");
    return gs.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g)) ? gs.length : undefined;
  };
  const a = count(halves[0] ?? "");
  const b = halves.length === 2 ? count(halves[1] ?? "") : 0;
  if (a === undefined || b === undefined) return false;
  return halves.length === 2 ? a + b < 8 : a === 8;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** An IPv4 or IPv6 address or a DNS host name; digits-and-dots that are not IPv4 are refused. */
export function isAddress(s: string): boolean {
  if (isIPv4(s) || isIPv6(s)) return true;
  if (/^[\d.]+$/.test(s)) return false;
  return HOSTNAME.test(s);
}
