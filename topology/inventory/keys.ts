import { PDU_PROFILES } from "../../lib/pdu-profiles/index.js";

/**
 * The keys each mapping of an inventory may have: the validator's one table. The JSON Schema
 * shipped for editors (crm-templates/inventory.schema.json) has a `$defs` entry per section with
 * exactly these properties; a unit test holds the two together.
 */
export const INVENTORY_KEYS = {
  inventory: ["cluster", "nodes", "pdus", "guests"],
  cluster: ["name", "stonith_timeout", "placement_strategy", "two_node", "sbd"],
  two_node: ["preferred", "delay"],
  sbd: ["devices", "msgwait"],
  node: ["name", "bmc", "power", "capacity"],
  bmc: [
    "address",
    "port",
    "user",
    "password_file",
    "password_script",
    "cipher",
    "lanplus",
    "privlvl",
    "login_timeout",
    "power_timeout",
  ],
  supply: ["pdu", "outlets"],
  pdu: [
    "name",
    "address",
    "port",
    "snmp_version",
    "community_file",
    "community_script",
    "user",
    "auth_protocol",
    "auth_password_file",
    "auth_password_script",
    "priv_protocol",
    "priv_password_file",
    "priv_password_script",
    "device",
    "login_timeout",
    "shell_timeout",
    "power_timeout",
  ],
  guest: ["name", "config", "hypervisor", "allow_migrate", "migration", "utilization", "timeouts"],
  migration: ["transport", "user", "network_suffix", "speed", "downtime"],
  utilization: ["cpu", "memory"],
  timeouts: ["start", "stop", "monitor", "monitor_interval", "migrate_to", "migrate_from"],
} as const satisfies Record<string, readonly string[]>;

export type Section = keyof typeof INVENTORY_KEYS;

/** fence_pdu's device profiles (its `device=` choices): the profiles' own table, so the two never differ. */
export function pduDevices(): string[] {
  return PDU_PROFILES.map((p) => p.id);
}

/** fence_pdu's snmp_auth_prot and snmp_priv_prot choices (a unit test compares them with its metadata). */
export const SNMP_AUTH_PROTOCOLS = ["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] as const;
export const SNMP_PRIV_PROTOCOLS = ["DES", "AES", "AES256", "AES256C"] as const;
