// Recorded PDUs served by snmpsim (Debian's snmpsimd), one community per recording, on a
// loopback UDP port.
//
// A recording is a read-only snapshot; to prove on/off/reboot, the outlet columns of the profile a
// recording should end up under are served by snmpsim's stock `sql` variation module from an
// SQLite store, with triggers: a write to the control column (Eaton: either command column)
// changes the outlet's state column as the device would, and is logged for the test to read. A
// write to an outlet the recording lacks is refused (a trigger forbids new rows), so a missing
// outlet stays missing. Everything else is served as recorded. (snmpsim's `writecache` variation
// can only change the value written, not another column; it is used where the recording uses it.)
//
// Each server gets a private directory (under $KVMHA_LAB_DIR, else the OS temp dir) holding the
// data files, snmpsim's index cache, the SQLite store and the log. snmpsimd refuses to run as
// root: it is started as nobody/nogroup then, and the directory is handed to that user. stop()
// kills only the snmpsimd it started, then removes the directory.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";

import type { PduProfile } from "../../lib/pdu-profiles/profile.js";
import { requireProgram } from "./bins.js";
import {
  BIND_RETRIES,
  abandon,
  cleanupAtExit,
  deathReason,
  isLoopback,
  killAndRemoveSync,
  killProcessesUsing,
  labBaseDir,
  makeLabDir,
  orphanReaper,
  readLogSync,
  readOr,
  removeLabDir,
  spawnLogged,
  startFailure,
  takeUdpPort,
  terminate,
} from "./daemon.js";
import { type SnmprecRecord, compareOids, staticValue } from "./pdu-recordings.js";
import { probeGet } from "./pdu-probe.js";
import { releasePort } from "./ports.js";

export interface ServedRecording {
  /** The v1/v2c community it answers to ([A-Za-z0-9._-]). */
  readonly community: string;
  readonly records: readonly SnmprecRecord[];
  /** Serve this profile's state and control columns writable, a control write changing the state. */
  readonly outlets?: PduProfile;
}

export interface SnmpsimOptions {
  readonly recordings: readonly ServedRecording[];
  /** Loopback address to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** UDP port; default a free one. */
  readonly port?: number;
  /** How long to wait for snmpsimd to answer; default 30 s. */
  readonly startTimeoutMs?: number;
}

export interface SnmpsimWrite {
  readonly oid: string;
  readonly value: string;
}

export interface Snmpsim {
  readonly host: string;
  readonly port: number;
  /** Process id of snmpsimd. */
  readonly pid: number;
  readonly dir: string;
  /** The outlet control writes a community received, oldest first. */
  writes(community: string): SnmpsimWrite[];
  /** snmpsimd's log. */
  output(): Promise<string>;
  stop(): Promise<void>;
}

const DIR_PREFIX = "kvmha-snmpsim-";
const SAFE_COMMUNITY = /^[A-Za-z0-9._-]{1,64}$/;
const NUMERIC_OID = /^\d+(\.\d+)*$/;

/** Servers whose owning test process is gone: snmpsimd killed (by what it runs from), directory removed. */
const orphans = orphanReaper(DIR_PREFIX, killProcessesUsing);

/** snmpsim's sql module stores OIDs with each arc right-aligned in 10 columns, so text order is OID order. */
function sqlOid(oid: string): string {
  return oid
    .split(".")
    .map((arc) => arc.padStart(10, " "))
    .join(".");
}

function sqlText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

interface Prepared {
  readonly snmprec: string;
  readonly sql: string[];
}

/**
 * One recording as a data file and the SQL for its outlet columns: every record under a column of
 * `outlets` moves to that column's table, and the data file gets one `column|:sql|table` record
 * in its place.
 */
function prepare(recording: ServedRecording, n: number): Prepared {
  const profile = recording.outlets;
  const columns = profile === undefined ? [] : outletColumns(profile);
  const tables = new Map(columns.map((c, i) => [c.oid, `r${n}_c${i}`]));
  const sql: string[] = [];
  for (const c of columns)
    sql.push(
      `CREATE TABLE ${tables.get(c.oid)} (oid text PRIMARY KEY, tag text, value text, maxaccess text);`,
    );
  const kept: SnmprecRecord[] = [];
  for (const record of recording.records) {
    if (!NUMERIC_OID.test(record.oid))
      throw new Error(`${recording.community}: bad OID ${record.oid}`);
    const column = columns.find((c) => record.oid.startsWith(`${c.oid}.`));
    if (column === undefined) {
      kept.push(record);
      continue;
    }
    const served = staticValue(record);
    if (served === undefined)
      throw new Error(
        `${recording.community}: cannot serve ${record.oid} (${record.tag}) from SQL`,
      );
    sql.push(
      `INSERT INTO ${tables.get(column.oid)} VALUES (${sqlText(sqlOid(record.oid))}, ${sqlText(served.tag)}, ${sqlText(served.value)}, ${sqlText(column.writes.length > 0 ? "read-write" : "read-only")});`,
    );
  }
  for (const c of columns) kept.push({ oid: c.oid, tag: ":sql", value: tables.get(c.oid)! });
  if (profile !== undefined) sql.push(...triggers(recording.community, profile, columns, tables));
  kept.sort((a, b) => compareOids(a.oid, b.oid));
  return {
    snmprec: kept.map((r) => `${r.oid}|${r.tag}|${r.value}\n`).join(""),
    sql,
  };
}

interface OutletColumn {
  readonly oid: string;
  /** Writes that switch the outlet: value written → state value it leads to. */
  readonly writes: readonly { readonly value: number; readonly state: number }[];
}

/** The state column and the control column(s), with what each write does to the state. */
function outletColumns(p: PduProfile): OutletColumn[] {
  const on = p.state.on[0]!;
  const off = p.state.off[0]!;
  const control: OutletColumn = {
    oid: p.control.oid,
    writes:
      p.control.onOid === undefined
        ? [
            { value: p.control.on, state: on },
            { value: p.control.off, state: off },
          ]
        : [{ value: p.control.off, state: off }],
  };
  const columns = [control];
  if (p.control.onOid !== undefined)
    columns.push({ oid: p.control.onOid, writes: [{ value: p.control.on, state: on }] });
  if (p.state.oid !== p.control.oid) columns.push({ oid: p.state.oid, writes: [] });
  return columns;
}

function triggers(
  community: string,
  p: PduProfile,
  columns: readonly OutletColumn[],
  tables: ReadonlyMap<string, string>,
): string[] {
  const state = tables.get(p.state.oid)!;
  const out: string[] = [];
  for (const c of columns) {
    const table = tables.get(c.oid)!;
    // An outlet the recording lacks stays missing: no row may be added.
    out.push(
      `CREATE TRIGGER ${table}_no_new BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'no such outlet'); END;`,
    );
    if (c.writes.length === 0) continue;
    const effects =
      c.oid === p.state.oid
        ? "" // one column for state and control: the write is the new state
        : `UPDATE ${state} SET value = CASE NEW.value ${c.writes
            .map((w) => `WHEN '${w.value}' THEN '${w.state}'`)
            .join(
              " ",
            )} ELSE value END WHERE oid = ${sqlText(sqlOid(p.state.oid))} || substr(NEW.oid, ${sqlOid(c.oid).length + 1});`;
    out.push(
      `CREATE TRIGGER ${table}_write AFTER UPDATE ON ${table} BEGIN ${effects} INSERT INTO writes (community, oid, value) VALUES (${sqlText(community)}, NEW.oid, NEW.value); END;`,
    );
  }
  return out;
}

const PYTHON_SQL = [
  "import sqlite3, sys",
  "db = sqlite3.connect(sys.argv[1])",
  "if sys.argv[2] == 'run':",
  "    db.executescript(sys.stdin.read()); db.commit()",
  "else:",
  "    for oid, value in db.execute('SELECT oid, value FROM writes WHERE community = ? ORDER BY seq', (sys.argv[3],)):",
  "        print(oid.replace(' ', '') + '=' + value)",
].join("\n");

function python(db: string, args: string[], input?: string): string {
  const r = spawnSync(requireProgram("python3"), ["-c", PYTHON_SQL, db, ...args], {
    input,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.status !== 0)
    throw new Error(`python3 sqlite3 ${args[0] ?? ""} failed: ${r.stderr || String(r.error)}`);
  return r.stdout;
}

/** nobody:nogroup when running as root (snmpsimd refuses root), else undefined. */
function dropTo(): { user: string; group: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return { user: "nobody", group: "nogroup", uid: 65534, gid: 65534 };
}

function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else fs.chownSync(p, uid, gid);
  }
}

/** Every directory above `dir` must let others through, or nobody cannot reach its data. */
function checkReachable(dir: string): void {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o001) === 0)
      throw new Error(
        `snmpsimd runs as nobody and cannot enter ${d}; set KVMHA_LAB_DIR to a directory others may traverse`,
      );
    if (d === path.dirname(d)) return;
  }
}

/** Start snmpsimd serving `recordings`; resolves once it answers the first recording's sysObjectID. */
export async function startSnmpsim(opts: SnmpsimOptions): Promise<Snmpsim> {
  const snmpsimd = requireProgram("snmpsimd");
  requireProgram("python3");
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host))
    throw new Error(`snmpsim host must be a 127.0.0.0/8 address, got '${host}'`);
  const [first] = opts.recordings;
  if (first === undefined) throw new Error("snmpsim: no recordings to serve");
  for (const r of opts.recordings)
    if (!SAFE_COMMUNITY.test(r.community)) throw new Error(`bad community '${r.community}'`);
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const user = dropTo();

  const base = labBaseDir();
  orphans.once(base);
  const dir = await makeLabDir(base, DIR_PREFIX, "snmpsimd");
  const db = path.join(dir, "outlets.sqlite");
  const logFile = path.join(dir, "snmpsimd.log");
  try {
    await fsp.mkdir(path.join(dir, "data"));
    await fsp.mkdir(path.join(dir, "cache"));
    const sql = [
      "CREATE TABLE writes (seq INTEGER PRIMARY KEY AUTOINCREMENT, community text, oid text, value text);",
    ];
    for (const [n, recording] of opts.recordings.entries()) {
      const prepared = prepare(recording, n);
      await fsp.writeFile(
        path.join(dir, "data", `${recording.community}.snmprec`),
        prepared.snmprec,
      );
      sql.push(...prepared.sql);
    }
    python(db, ["run"], sql.join("\n"));
    if (user !== undefined) {
      checkReachable(dir);
      chownTree(dir, user.uid, user.gid);
    }
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }

  for (let attempt = 1; ; attempt++) {
    const port = await takeUdpPort(host, opts.port);
    const daemon = spawnLogged(
      snmpsimd,
      [
        `--data-dir=${dir}/data`,
        `--cache-dir=${dir}/cache`,
        `--agent-udpv4-endpoint=${host}:${port}`,
        `--variation-module-options=sql:dbtype:sqlite3,database:${db}`,
        ...(user === undefined
          ? []
          : [`--process-user=${user.user}`, `--process-group=${user.group}`]),
      ],
      {
        cwd: dir,
        logFile,
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", HOME: dir },
      },
    );
    const { child } = daemon;
    const untrack = cleanupAtExit(() => killAndRemoveSync(child, dir));
    const sysObjectId = first.records.find((r) => r.oid === "1.3.6.1.2.1.1.2.0");
    const answer = await probeGet(
      host,
      port,
      first.community,
      ["1.3.6.1.2.1.1.2.0"],
      Date.now() + timeoutMs,
      () => daemon.dead || !!daemon.spawnError,
    );
    const good =
      answer !== undefined &&
      answer.errorStatus === 0 &&
      (sysObjectId === undefined ||
        answer.varbinds[0]?.value === sysObjectId.value.replace(/^\./, ""));
    if (good && !daemon.dead) {
      let stopped: Promise<void> | undefined;
      return {
        host,
        port,
        pid: child.pid!,
        dir,
        writes(community) {
          return python(db, ["writes", community])
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => {
              const [oid = "", value = ""] = l.split("=");
              return { oid, value };
            });
        },
        output: () => readOr(logFile),
        stop() {
          stopped ??= (async () => {
            await terminate(daemon, "snmpsimd");
            untrack();
            releasePort(port);
            await removeLabDir(dir);
          })();
          return stopped;
        },
      };
    }
    await abandon(daemon);
    untrack();
    releasePort(port);
    const output = readLogSync(logFile);
    if (
      /Address already in use|EADDRINUSE/i.test(output) &&
      opts.port === undefined &&
      attempt < BIND_RETRIES
    )
      continue;
    await fsp.rm(dir, { recursive: true, force: true });
    const why =
      deathReason(daemon, "snmpsimd", snmpsimd) ??
      (answer === undefined
        ? `snmpsimd did not answer on ${host}:${port} within ${timeoutMs} ms`
        : `snmpsimd answered the readiness GET wrongly: ${JSON.stringify(answer)}`);
    throw startFailure("snmpsim", why, "snmpsimd", output);
  }
}

/** Clean up snmpsim servers left by test processes that died without stop(). */
export function reapOrphanSnmpsims(): void {
  orphans.now();
}
