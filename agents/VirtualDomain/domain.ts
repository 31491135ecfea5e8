/**
 * The domain a VirtualDomain resource is about: read from its config file, else from the record
 * start left in HA_RSCTMP (lib/libvirt/domain-record.ts), so that a stop or probe whose config
 * file has gone still asks libvirt instead of assuming the guest is stopped. The record also keeps
 * the parsed config, so a steady-state monitor does not parse the file again.
 */
// fs.promises is read at each use, not imported from node:fs/promises: this module is in the
// startup snapshot, and node:fs/promises loaded there adds ~350 KB that every start of every agent,
// fence agents included, deserializes (docs/build.md).
import { type BigIntStats, promises as fs, stat as statCallback } from "node:fs";
import { messageOf } from "../../lib/errors.js";
import {
  type DomainRecord,
  type FileIdentity,
  cachedConfig,
  decodeDomainRecord,
  encodeDomainRecord,
  fileIdentity,
  stableIdentity,
} from "../../lib/libvirt/domain-record.js";
import {
  type DomainXmlInfo,
  DomainXmlError,
  parseDomainXml,
} from "../../lib/libvirt/domain-xml.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { OcfNotConfigured, OcfNotInstalled } from "../../lib/ocf/codes.js";
import { readStateFile, stateFile, writeStateFile } from "../../lib/ocf/toolbox.js";
import { text } from "./parameters.js";

export interface Domain {
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

/** The record's suffix: HA_RSCTMP/VirtualDomain-<instance>.domain. */
const RECORD = "domain";

// HA_RSCTMP is local (/run), so its small files are read synchronously: no thread pool round
// trips on the monitor's path. The config file is not: it may sit on a shared filesystem that
// hangs, and only an asynchronous read leaves the op deadline able to fire.
function readRecord(ctx: OcfContext): DomainRecord | undefined {
  const t = readStateFile(ctx, RECORD);
  return t === undefined ? undefined : decodeDomainRecord(t);
}

/** Records the domain (and the parsed config) for later actions; a failure is a warning. */
export async function writeRecord(ctx: OcfContext, d: Domain): Promise<void> {
  try {
    await writeStateFile(
      ctx,
      RECORD,
      encodeDomainRecord({
        name: d.name,
        uuid: d.uuid,
        type: d.type,
        config: ctx.params.string("config"),
        file: d.file,
        xml: d.xml,
      }),
    );
  } catch (err) {
    ctx.log.warning(`cannot record the domain in ${stateFile(ctx, RECORD)}: ${messageOf(err)}`);
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
  const path = text(ctx, "config");
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

/**
 * The domain from the config file, for actions that need it (start, validate): a missing or
 * unreadable file is OCF_ERR_INSTALLED (this node), a bad one OCF_ERR_CONFIGURED.
 */
export async function configuredDomain(ctx: OcfContext): Promise<Domain> {
  const c = await readConfig(ctx);
  if (!c.ok) throw c.unreadable ? new OcfNotInstalled(c.reason) : new OcfNotConfigured(c.reason);
  return c.domain;
}

export interface Found {
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
export async function findDomain(ctx: OcfContext, cached = false): Promise<Found> {
  const record = readRecord(ctx);
  if (cached) {
    const path = text(ctx, "config");
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

/** A QEMU/KVM domain (whose processes the /proc fallback can find). */
export function isQemu(d: Domain): boolean {
  return d.type === "kvm" || d.type === "qemu";
}
