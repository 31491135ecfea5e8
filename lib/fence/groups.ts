/**
 * Option groups, fence-agents' DEPENDENCY_OPT idea: an agent that declares `groups: ["ssl"]` or
 * `["snmp"]` takes the group's options without declaring them itself, with the names, letters and
 * descriptions fence-agents' agents of that family advertise. An agent still declares an option of
 * a group itself where it needs another default or description: the first declaration of a name
 * wins (the agent's own list comes first).
 */
import type { OptionSpec } from "./options.js";
import { standard } from "./options.js";

export type OptionGroup = "ssl" | "snmp";

/** SNMPv3 authentication protocols by the names fence-agents' SNMP agents take. */
export const SNMP_AUTH_PROTOCOLS = ["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] as const;
/** SNMPv3 privacy protocols by those names (AES256 is Blumenthal's, AES256C Reeder's). */
export const SNMP_PRIV_PROTOCOLS = ["DES", "AES", "AES256", "AES256C"] as const;

const SPEAKS_SNMP = "kvmha speaks SNMP itself";
const SPEAKS_TLS = "kvmha speaks HTTPS itself and runs no gnutls-cli";

/** fence-agents' SNMP options (fence_snmp's set), with kvmha's community_script. */
const snmp: readonly OptionSpec[] = [
  { ...standard.ipport, default: "161" },
  {
    name: "community",
    short: "c",
    value: "community",
    type: "string",
    default: "private",
    secret: true,
    shortdesc: "Set the community string (SNMP v1 and v2c)",
    order: 1,
  },
  {
    // Not in fence-agents: lets the CIB hold a reference instead of the community itself.
    name: "community_script",
    value: "script",
    type: "string",
    scriptFor: "community",
    shortdesc:
      "Script to run to retrieve the community string (SNMP v1 and v2c; wins over community)",
    order: 1,
  },
  {
    name: "snmp_version",
    short: "d",
    value: "version",
    type: "select",
    choices: ["1", "2c", "3"],
    default: "1",
    shortdesc: "Specifies SNMP version to use",
    order: 1,
  },
  { ...standard.username, shortdesc: "SNMPv3 user name" },
  { ...standard.password, shortdesc: "SNMPv3 authentication password" },
  standard.password_script,
  {
    name: "snmp_auth_prot",
    short: "b",
    value: "prot",
    type: "select",
    choices: SNMP_AUTH_PROTOCOLS,
    shortdesc: "Set authentication protocol (SNMPv3; default MD5, as net-snmp's tools)",
    order: 1,
  },
  {
    name: "snmp_sec_level",
    short: "E",
    value: "level",
    type: "select",
    choices: ["noAuthNoPriv", "authNoPriv", "authPriv"],
    shortdesc:
      "Set security level (SNMPv3; default: authPriv with a privacy password, authNoPriv with a password)",
    order: 1,
  },
  {
    name: "snmp_priv_prot",
    short: "B",
    value: "prot",
    type: "select",
    choices: SNMP_PRIV_PROTOCOLS,
    shortdesc:
      "Set privacy protocol (SNMPv3; default DES, as net-snmp's tools; AES256 is Blumenthal's, AES256C Reeder's)",
    order: 1,
  },
  {
    name: "snmp_priv_passwd",
    short: "P",
    value: "pass",
    type: "string",
    secret: true,
    shortdesc: "Set privacy protocol password",
    order: 1,
  },
  {
    name: "snmp_priv_passwd_script",
    short: "R",
    value: "script",
    type: "string",
    scriptFor: "snmp_priv_passwd",
    shortdesc: "Script to run to retrieve privacy password",
    order: 1,
  },
  {
    name: "inet4_only",
    short: "4",
    type: "boolean",
    shortdesc: "Forces agent to use IPv4 addresses only",
    order: 1,
  },
  {
    name: "inet6_only",
    short: "6",
    type: "boolean",
    shortdesc: "Forces agent to use IPv6 addresses only",
    order: 1,
  },
  ...["snmpget_path", "snmpset_path", "snmpwalk_path"].map((name): OptionSpec => ({
    name,
    value: "path",
    type: "string",
    shortdesc: "Accepted for compatibility; unused",
    order: 200,
    ignored: SPEAKS_SNMP,
  })),
];

/** fence-agents' TLS options (ssl, ssl_secure, ssl_insecure, gnutlscli_path), with kvmha's CA file and pins. */
const ssl: readonly OptionSpec[] = [
  {
    name: "ssl",
    short: "z",
    type: "boolean",
    default: "1",
    shortdesc: "Use SSL connection with verifying certificate (always HTTPS)",
    order: 1,
  },
  {
    name: "ssl_secure",
    type: "boolean",
    shortdesc: "Use SSL connection with verifying certificate (the default)",
    order: 1,
  },
  {
    name: "ssl_insecure",
    type: "boolean",
    shortdesc: "Use SSL connection without verifying certificate",
    order: 1,
  },
  {
    name: "ssl_cacert",
    value: "file",
    type: "string",
    shortdesc:
      "PEM file of the CA certificates that sign the BMC's certificate, trusted instead of the system's",
    order: 1,
  },
  {
    name: "ssl_fingerprint",
    value: "sha256",
    type: "string",
    shortdesc:
      "Trust the BMC's certificate by its SHA-256 fingerprint (as 'openssl x509 -noout -fingerprint -sha256' prints it; several separated by commas), whoever signed it",
    order: 1,
  },
  {
    name: "gnutlscli_path",
    value: "path",
    type: "string",
    shortdesc: "Accepted for compatibility; unused",
    order: 200,
    ignored: SPEAKS_TLS,
  },
];

const GROUPS: Readonly<Record<OptionGroup, readonly OptionSpec[]>> = { ssl, snmp };

/** The options the groups bring, in the groups' order. */
export function groupOptions(groups: readonly OptionGroup[] | undefined): OptionSpec[] {
  return (groups ?? []).flatMap((g) => GROUPS[g]);
}
