// Reading Pacemaker's view of the lab cluster: `crm_mon -1 -X` (run inside a
// node) parsed into the few facts the tests need, and the fencers' results read
// from the nodes' Pacemaker logs (exact times, no process started).

import { open } from "node:fs/promises";

import { parseStringPromise } from "xml2js";

import type { ClusterNode } from "./nodes.js";

export interface CrmNode {
  name: string;
  online: boolean;
  standby: boolean;
  unclean: boolean;
  /** Pacemaker's "pending" (joining) state. */
  pending: boolean;
}

export interface CrmResource {
  id: string;
  agent: string;
  role: string;
  active: boolean;
  failed: boolean;
  /** Nodes the resource is active on (more than one: Pacemaker sees it running twice). */
  nodes: string[];
}

export interface CrmStatus {
  dc: string | undefined;
  quorum: boolean;
  nodes: CrmNode[];
  resources: CrmResource[];
}

type Attrs = Record<string, string>;
interface XmlElem {
  $?: Attrs;
  [child: string]: XmlElem[] | Attrs | undefined;
}

function kids(e: XmlElem | undefined, name: string): XmlElem[] {
  const v = e?.[name];
  return Array.isArray(v) ? v : [];
}

function collectResources(e: XmlElem, out: CrmResource[]): void {
  for (const r of kids(e, "resource")) {
    const a = r.$ ?? {};
    out.push({
      id: a.id ?? "",
      agent: a.resource_agent ?? "",
      role: a.role ?? "",
      active: a.active === "true",
      failed: a.failed === "true",
      nodes: kids(r, "node").map((n) => n.$?.name ?? ""),
    });
  }
  for (const g of [...kids(e, "group"), ...kids(e, "clone"), ...kids(e, "bundle")])
    collectResources(g, out);
}

/** Parse `crm_mon --output-as=xml` (Pacemaker 2.1). */
export async function parseCrmMon(xml: string): Promise<CrmStatus> {
  const doc = (await parseStringPromise(xml)) as { "pacemaker-result"?: XmlElem };
  const root = doc["pacemaker-result"];
  if (!root) throw new Error(`crm_mon output is not a pacemaker-result: ${xml.slice(0, 200)}`);
  const summary = kids(root, "summary")[0];
  const dcElem = kids(summary, "current_dc")[0]?.$;
  const nodes = kids(kids(root, "nodes")[0], "node").map((n) => {
    const a = n.$ ?? {};
    return {
      name: a.name ?? "",
      online: a.online === "true",
      standby: a.standby === "true",
      unclean: a.unclean === "true",
      pending: a.pending === "true",
    };
  });
  const resources: CrmResource[] = [];
  const resElem = kids(root, "resources")[0];
  if (resElem) collectResources(resElem, resources);
  return {
    dc: dcElem?.present === "true" ? dcElem.name : undefined,
    quorum: dcElem?.with_quorum === "true",
    nodes,
    resources,
  };
}

/** `crm_mon -1 -X` on `node`, parsed; undefined when it fails (node down, Pacemaker starting). */
export async function crmStatus(
  node: ClusterNode,
  killAfterMs = 10_000,
): Promise<CrmStatus | undefined> {
  if (!node.running) return undefined;
  const r = await node.exec("crm_mon", ["-1", "--output-as=xml"], { killAfterMs });
  if (r.code !== 0 || !r.stdout.includes("<pacemaker-result")) return undefined;
  try {
    return await parseCrmMon(r.stdout);
  } catch {
    return undefined;
  }
}

/**
 * Poll crm_mon on `on` until `ok(status)` holds; returns that status. Throws after `ms` with the
 * last status seen and the node's Pacemaker log tail.
 */
export async function waitForStatus(
  on: ClusterNode,
  what: string,
  ok: (s: CrmStatus) => boolean,
  ms: number,
  everyMs = 500,
): Promise<CrmStatus> {
  const deadline = Date.now() + ms;
  let last: CrmStatus | undefined;
  for (;;) {
    last = (await crmStatus(on, Math.max(1_000, Math.min(10_000, deadline - Date.now())))) ?? last;
    if (last && ok(last)) return last;
    if (Date.now() >= deadline) {
      throw new Error(
        `cluster did not reach "${what}" within ${ms} ms (seen from ${on.name}); last status: ${JSON.stringify(last)}\n` +
          `--- ${on.name} pacemaker.log (tail) ---\n${await on.log(40)}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Every named node online (not unclean, not pending) and a DC elected, as `on` sees it. */
export function allOnline(names: readonly string[]): (s: CrmStatus) => boolean {
  return (s) =>
    s.dc !== undefined &&
    names.every((n) => s.nodes.some((x) => x.name === n && x.online && !x.unclean && !x.pending));
}

export interface FenceResult {
  /** When the fencer logged the result (ms since the epoch, from the log's timestamp). */
  at: number;
  target: string;
  action: string;
  ok: boolean;
  /** Pacemaker's words for the result ("OK (complete)", "No such device", ...). */
  result: string;
  id: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A Pacemaker log timestamp ("Nov 22 05:53:34.689", the machine's local time) as ms since the epoch. */
export function logTime(stamp: string, now = new Date()): number | undefined {
  const m = /^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(stamp);
  const month = m ? MONTHS.indexOf(m[1]!) : -1;
  if (!m || month < 0) return undefined;
  const d = new Date(
    now.getFullYear(),
    month,
    Number(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
  return d.getTime();
}

const FINALIZE =
  /^(\w{3} +\d+ [\d:.]+) \S+ +pacemaker-fenced.*\(finalize_op\)\s+\w+: Operation '(\w+)' targeting (\S+) by \S+ for \S+: (.*?) \| id=(\S+)$/gm;
const ASYNC_RESULT =
  /^(\w{3} +\d+ [\d:.]+) (\S+) +pacemaker-fenced.*\(log_async_result\)\s+\w+: Operation '(\w+)' \[\d+\] targeting (\S+) using (\S+) returned (-?\d+)/gm;

interface LogFacts {
  offset: number;
  partial: string;
  fence: FenceResult[];
  device: DeviceResult[];
}

/** What was parsed of each log so far: the logs grow to megabytes, only the new part is read. */
const parsed = new Map<string, LogFacts>();

async function factsOf(file: string): Promise<LogFacts> {
  let f = parsed.get(file);
  if (!f) {
    f = { offset: 0, partial: "", fence: [], device: [] };
    parsed.set(file, f);
  }
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(file, "r");
    const { size } = await fh.stat();
    if (size < f.offset) Object.assign(f, { offset: 0, partial: "", fence: [], device: [] }); // a new file
    if (size > f.offset) {
      const buf = Buffer.alloc(size - f.offset);
      await fh.read(buf, 0, buf.length, f.offset);
      f.offset = size;
      const text = f.partial + buf.toString("utf8");
      const cut = text.lastIndexOf("\n") + 1;
      f.partial = text.slice(cut);
      const lines = text.slice(0, cut);
      for (const m of lines.matchAll(FINALIZE)) {
        const at = logTime(m[1]!);
        if (at !== undefined)
          f.fence.push({
            at,
            action: m[2]!,
            target: m[3]!,
            result: m[4]!,
            ok: m[4]!.startsWith("OK"),
            id: m[5]!,
          });
      }
      for (const m of lines.matchAll(ASYNC_RESULT)) {
        const at = logTime(m[1]!);
        if (at !== undefined)
          f.device.push({
            at,
            node: m[2]!,
            action: m[3]!,
            target: m[4]!,
            device: m[5]!,
            rc: Number(m[6]),
          });
      }
    }
  } catch {
    // no log yet
  } finally {
    await fh?.close();
  }
  return f;
}

/**
 * Fencing operations that finished, as the fencers logged them (finalize_op) in the nodes'
 * pacemaker.log files, deduplicated by operation id (every node logs each one): precise times
 * without asking a node. `since` (ms) skips older ones.
 */
export async function fenceResults(logFiles: readonly string[], since = 0): Promise<FenceResult[]> {
  const seen = new Map<string, FenceResult>();
  for (const file of logFiles) {
    for (const r of (await factsOf(file)).fence) {
      if (r.at < since) continue;
      const old = seen.get(r.id);
      if (!old || r.at < old.at) seen.set(r.id, r);
    }
  }
  return [...seen.values()].sort((x, y) => x.at - y.at);
}

export interface DeviceResult {
  at: number;
  node: string;
  action: string;
  target: string;
  device: string;
  /** The agent's exit code. */
  rc: number;
}

/** Each fence agent run for a fencing action, as the fencers logged it (log_async_result). */
export async function deviceResults(
  logFiles: readonly string[],
  since = 0,
): Promise<DeviceResult[]> {
  const out: DeviceResult[] = [];
  for (const file of logFiles)
    out.push(...(await factsOf(file)).device.filter((r) => r.at >= since));
  return out.sort((x, y) => x.at - y.at);
}
