// Independent SNMP clients for PDU lab tests: Net-SNMP's snmpget, snmpset
// and snmpwalk, and the reference fence_apc_snmp. Communities and pass
// phrases never go on a command line we build: the net-snmp tools get them
// from a private snmp.conf (defCommunity, defAuthPassphrase, ...) found
// through SNMPCONFPATH, the fence agent on stdin.

import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { requireProgram } from "./bins.js";
import { run, type RunResult } from "./clients.js";
import { PDU_COMMUNITIES, type PduV3User } from "./pdu-sim.js";

export interface SnmpTarget {
  host: string;
  port: number;
}

export type SnmpCredentials =
  | { version: "1" | "2c"; community: string }
  | {
      version: "3";
      user: PduV3User;
      /** Security level to ask for; default the user's own. */
      level?: "noAuthNoPriv" | "authNoPriv" | "authPriv";
    };

export interface NetSnmpOptions {
  /** -t: seconds to wait for each answer; default 1. */
  timeoutSec?: number;
  /** -r: retries; default 2. */
  retries?: number;
  killAfterMs?: number;
}

/** One varbind for snmpset: OID, net-snmp type letter (i, s, o, ...), value. */
export type SnmpSetItem = readonly [oid: string, type: string, value: string];

/**
 * Run a net-snmp command-line tool with the credentials in a private
 * snmp.conf (mode 0600 in a 0700 temp dir, removed afterwards), numeric
 * output (-On, -Oe: OIDs and enums as numbers), no MIBs loaded.
 */
async function netSnmp(
  program: "snmpget" | "snmpset" | "snmpwalk",
  target: SnmpTarget,
  cred: SnmpCredentials,
  args: readonly string[],
  opts: NetSnmpOptions,
): Promise<RunResult> {
  const bin = requireProgram(program);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "kvmha-snmpconf-"));
  try {
    const conf = [`persistentDir ${dir}`];
    const argv = [
      "-v",
      cred.version,
      "-On",
      "-Oe",
      "-t",
      String(opts.timeoutSec ?? 1),
      "-r",
      String(opts.retries ?? 2),
    ];
    if (cred.version === "3") {
      const u = cred.user;
      const level = cred.level ?? u.level;
      argv.push("-l", level, "-u", u.name);
      if (level !== "noAuthNoPriv") {
        argv.push("-a", u.auth);
        conf.push(`defAuthPassphrase ${u.password}`);
      }
      if (level === "authPriv") {
        // A user without privacy asked for authPriv: send its auth pass phrase as the privacy one.
        argv.push("-x", u.priv ?? "AES");
        conf.push(`defPrivPassphrase ${u.privPassword ?? u.password}`);
      }
    } else {
      conf.push(`defCommunity ${cred.community}`);
    }
    await fsp.writeFile(path.join(dir, "snmp.conf"), `${conf.join("\n")}\n`, { mode: 0o600 });
    argv.push(`udp:${target.host}:${target.port}`, ...args);
    return await run(bin, argv, {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        LC_ALL: "C",
        MIBS: "",
        SNMPCONFPATH: dir,
        SNMP_PERSISTENT_DIR: dir,
      },
      killAfterMs: opts.killAfterMs ?? 30_000,
    });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export function snmpget(
  target: SnmpTarget,
  cred: SnmpCredentials,
  oids: readonly string[],
  opts: NetSnmpOptions = {},
): Promise<RunResult> {
  return netSnmp("snmpget", target, cred, oids, opts);
}

export function snmpset(
  target: SnmpTarget,
  cred: SnmpCredentials,
  items: readonly SnmpSetItem[],
  opts: NetSnmpOptions = {},
): Promise<RunResult> {
  return netSnmp("snmpset", target, cred, items.flat(), opts);
}

export function snmpwalk(
  target: SnmpTarget,
  cred: SnmpCredentials,
  oid: string,
  opts: NetSnmpOptions = {},
): Promise<RunResult> {
  return netSnmp("snmpwalk", target, cred, [oid], opts);
}

export interface SnmpLine {
  /** Numeric, without the leading dot. */
  oid: string;
  /** "INTEGER", "STRING", "OID", ... or "NoSuchInstance", "NoSuchObject", "EndOfMibView". */
  type: string;
  /** The value as printed (strings without their quotes). */
  value: string;
}

/** Parse net-snmp's `-On` output: `.1.3.6... = INTEGER: 1` lines. */
export function parseSnmpOutput(stdout: string): SnmpLine[] {
  const out: SnmpLine[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^\.?([\d.]+) = (.*)$/.exec(line);
    if (!m) continue;
    const rest = m[2]!;
    let type: string;
    let value: string;
    if (/^No Such Instance/.test(rest)) [type, value] = ["NoSuchInstance", ""];
    else if (/^No Such Object/.test(rest)) [type, value] = ["NoSuchObject", ""];
    else if (/^No more variables/.test(rest)) [type, value] = ["EndOfMibView", ""];
    else {
      const t = /^([A-Za-z0-9-]+): ?(.*)$/.exec(rest);
      type = t ? t[1]! : "";
      value = t ? t[2]! : rest;
      if (type === "STRING" && /^".*"$/.test(value)) value = value.slice(1, -1);
      if (type === "OID") value = value.replace(/^\./, "");
    }
    out.push({ oid: m[1]!, type, value });
  }
  return out;
}

export interface FenceApcSnmpOptions {
  /** Extra key=value options for the agent (e.g. { snmp_version: '2c' }). */
  extra?: Record<string, string>;
  killAfterMs?: number;
}

/**
 * Run the reference `fence_apc_snmp` with its options as key=value lines on
 * stdin (no argv), the way Pacemaker's fencer runs agents. Default
 * community is the read-write one. Exit codes: 0 success (status: on),
 * 2 status: off, 1 failure. Its net-snmp tools read no system snmp.conf
 * and write nothing outside a temp dir.
 */
export async function fenceApcSnmp(
  target: SnmpTarget,
  action: string,
  plug: string | undefined,
  opts: FenceApcSnmpOptions = {},
): Promise<RunResult> {
  const lines: Record<string, string> = {
    action,
    ip: target.host,
    ipport: String(target.port),
    community: PDU_COMMUNITIES.readWrite,
  };
  if (plug !== undefined) lines.plug = plug;
  Object.assign(lines, opts.extra);
  const input = Object.entries(lines)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "kvmha-snmpconf-"));
  try {
    return await run(requireProgram("fence_apc_snmp"), [], {
      input,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        LC_ALL: "C",
        SNMPCONFPATH: dir,
        SNMP_PERSISTENT_DIR: dir,
      },
      killAfterMs: opts.killAfterMs ?? 60_000,
    });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
