// snmpd pass_persist handler of a simulated switched PDU (test/lab/pdu-sim.ts).
//
// Run by snmpd as `<node> pdu-handler.mjs <pdu-dir> <root-oid>`, serving the
// PDU's objects under <root-oid>; it answers snmpd's
// pass_persist protocol on stdin/stdout (see snmpd.conf(5), "pass_persist"):
//   PING                      -> PONG
//   get / <oid>               -> <oid> / <type> / <value>, or NONE
//   getnext / <oid>           -> the first OID after <oid>, or NONE
//   set / <oid> / <type> <v>  -> DONE, or an error word (wrong-value, ...)
//
// Why Node and not python3: the test host runs Node 20 already (its absolute
// path, process.execPath, goes into snmpd.conf), so the lab needs no second
// runtime, and python3 on a developer machine may be a shim (pyenv) that is
// slow to start and not the system one. Plain .mjs, no dependencies, no
// TypeScript loader: it starts in tens of milliseconds.
//
// Everything the handler knows lives in files of <pdu-dir>, re-read on every
// request so that tests can change them at any time:
//   pdu.json     the layout, written once by pdu-sim.ts (profile, counts)
//   state.json   { switches: [ { outlets: [ { name, state: "on"|"off" } ] } ] }
//   faults.json  { stuck: ["1:3", ...], garbage: false|"type"|"range", truncated: bool }
//   sets.log     one line per SET on the control column: "3 off", "2:5 on",
//                "3 refused 7"
//   handler.log  the handler's own errors (it never lets one escape)
//   handler-<pid>.pid  so that pdu-sim.ts can make sure it is gone
//
// Robustness: each request is answered from a try/catch; a failure answers
// NONE (get/getnext) or not-writable (set), so snmpd never waits for a line
// that will not come. Answers go out with fs.writeSync on fd 1, so each is
// flushed before the next request is read. The handler exits when snmpd
// closes its stdin.

import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2];
const rootArg = process.argv[3];
if (!dir || !rootArg) {
  process.stderr.write("usage: pdu-handler.mjs <pdu-dir> <root-oid>\n");
  process.exit(2);
}
const files = {
  config: path.join(dir, "pdu.json"),
  state: path.join(dir, "state.json"),
  faults: path.join(dir, "faults.json"),
  sets: path.join(dir, "sets.log"),
  log: path.join(dir, "handler.log"),
};

try {
  // One file per process: snmpd starts one handler per pass_persist line.
  fs.writeFileSync(path.join(dir, `handler-${process.pid}.pid`), `${process.pid}\n`);
} catch {
  // the directory is gone: snmpd is being torn down
}

function logError(what, err) {
  try {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    fs.appendFileSync(files.log, `${new Date().toISOString()} ${what}: ${text}\n`);
  } catch {
    // nowhere to report it
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Write a whole answer to snmpd, synchronously: it is out before the next request is read. */
function say(lines) {
  const buf = Buffer.from(lines.map((l) => `${l}\n`).join(""));
  let done = 0;
  while (done < buf.length) {
    try {
      done += fs.writeSync(1, buf, done);
    } catch (err) {
      if (err && err.code === "EAGAIN") {
        Atomics.wait(pause, 0, 0, 1); // pipe full (a non-blocking fd): wait 1 ms
        continue;
      }
      // EPIPE: snmpd went away
      logError("write to snmpd", err);
      process.exit(0);
    }
  }
}

function readJson(file, fallback) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if (err && err.code === "ENOENT" && fallback !== undefined) return fallback;
    throw err;
  }
  return JSON.parse(text);
}

function writeAtomic(file, text) {
  const tmp = `${path.dirname(file)}/.${path.basename(file)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

// ---- OIDs ------------------------------------------------------------------

/** "1.3.6" or ".1.3.6" -> [1, 3, 6]; undefined when it is not a numeric OID. */
function parseOid(text) {
  const t = String(text).trim().replace(/^\./, "");
  if (t === "") return undefined;
  const arcs = t.split(".");
  const out = [];
  for (const a of arcs) {
    if (!/^\d{1,10}$/.test(a)) return undefined;
    const n = Number(a);
    if (n > 4294967295) return undefined;
    out.push(n);
  }
  return out;
}

/** Lexicographic order, each arc compared as a number; a prefix sorts first. */
function compareOids(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

const oidText = (arcs) => `.${arcs.join(".")}`;

const root = parseOid(rootArg) ?? [];
const underRoot = (oid) =>
  oid.length > root.length && compareOids(oid.slice(0, root.length), root) === 0;

/** A profile's index template for one outlet: {switch}, {switch-1} (units counted from 0), {outlet}. */
function fill(template, sw, outlet) {
  return template
    .replaceAll("{switch-1}", String(sw - 1))
    .replaceAll("{switch}", String(sw))
    .replaceAll("{outlet}", String(outlet));
}

/** As fence agents write plugs: "3" on switch 1, "2:3" on switch 2. */
function plugName(sw, outlet) {
  return sw === 1 ? String(outlet) : `${sw}:${outlet}`;
}

/** The smallest integer >= 7 that is neither an on nor an off state value. */
function outOfRange(cfg) {
  const used = new Set([...cfg.profile.state.on, ...cfg.profile.state.off]);
  let v = 7;
  while (used.has(v)) v++;
  return v;
}

/**
 * Every object the PDU serves under this handler's root, sorted:
 * [{ oid: number[], kind, sw, outlet }], kind: state | control | controlOn
 * (the switch-on column of profiles with control.onOid) | name | count.
 * With `truncated`, a GETNEXT walk sees only the first half of each
 * switch's outlets.
 */
function objects(cfg, forWalk, faults) {
  const p = cfg.profile;
  const list = [];
  const visible = (n) => (forWalk && faults.truncated ? Math.ceil(n / 2) : n);
  const columns = [{ kind: "state", oid: p.state.oid }];
  if (p.control.oid !== p.state.oid) columns.push({ kind: "control", oid: p.control.oid });
  if (p.control.onOid && p.control.onOid !== p.control.oid && p.control.onOid !== p.state.oid) {
    columns.push({ kind: "controlOn", oid: p.control.onOid });
  }
  if (p.name) columns.push({ kind: "name", oid: p.name.oid });
  for (const col of columns) {
    for (let sw = 1; sw <= cfg.switches; sw++) {
      const n = visible(cfg.outlets);
      for (let outlet = 1; outlet <= n; outlet++) {
        const oid = parseOid(`${col.oid}.${fill(p.index, sw, outlet)}`);
        if (oid) list.push({ oid, kind: col.kind, sw, outlet });
      }
    }
  }
  if (p.outletCount) {
    if (/\{switch(-1)?\}/.test(p.outletCount.oid)) {
      for (let sw = 1; sw <= cfg.switches; sw++) {
        const oid = parseOid(fill(p.outletCount.oid, sw, 0));
        if (oid) list.push({ oid, kind: "count", sw, outlet: 0 });
      }
    } else {
      const oid = parseOid(p.outletCount.oid);
      if (oid) list.push({ oid, kind: "count", sw: 0, outlet: 0 });
    }
  }
  const mine = list.filter((o) => underRoot(o.oid));
  mine.sort((a, b) => compareOids(a.oid, b.oid));
  return mine;
}

/** The object at exactly `oid`; when truncated, the hidden half's names are missing for a GET too. */
function findExact(cfg, faults, oid) {
  const list = objects(cfg, false, faults);
  const hit = list.find((o) => compareOids(o.oid, oid) === 0);
  if (!hit) return undefined;
  if (hit.kind === "name" && faults.truncated && hit.outlet > Math.ceil(cfg.outlets / 2))
    return undefined;
  return hit;
}

function outletOf(state, sw, outlet) {
  const row = state.switches?.[sw - 1]?.outlets?.[outlet - 1];
  if (!row || (row.state !== "on" && row.state !== "off")) {
    throw new Error(`state.json has no valid row for switch ${sw} outlet ${outlet}`);
  }
  return row;
}

/** [type, value] of an object, as pass_persist wants them. */
function valueOf(cfg, state, faults, obj) {
  const p = cfg.profile;
  if (obj.kind === "count") {
    return ["integer", String(obj.sw === 0 ? cfg.outlets * cfg.switches : cfg.outlets)];
  }
  const row = outletOf(state, obj.sw, obj.outlet);
  if (obj.kind === "name") return ["string", String(row.name ?? "").replace(/[\r\n]/g, " ")];
  if (faults.garbage === "type" || faults.garbage === true) return ["string", row.state];
  if (faults.garbage === "range") return ["integer", String(outOfRange(cfg))];
  if (obj.kind === "state")
    return ["integer", String(row.state === "on" ? p.state.on[0] : p.state.off[0])];
  // One command column per direction (Eaton's outletControlOffCmd/OnCmd): they
  // read -1, "no command pending", as the MIB says.
  if (p.control.onOid) return ["integer", "-1"];
  return ["integer", String(row.state === "on" ? p.control.on : p.control.off)];
}

// ---- requests ----------------------------------------------------------------

function load() {
  const cfg = readJson(files.config);
  const state = readJson(files.state);
  const faults = readJson(files.faults, {});
  return { cfg, state, faults };
}

function answerGet(oidLine, next) {
  const oid = parseOid(oidLine);
  if (!oid) return ["NONE"];
  const { cfg, state, faults } = load();
  let obj;
  if (next) {
    obj = objects(cfg, true, faults).find((o) => compareOids(o.oid, oid) > 0);
  } else {
    obj = findExact(cfg, faults, oid);
  }
  if (!obj) return ["NONE"];
  const [type, value] = valueOf(cfg, state, faults, obj);
  return [oidText(obj.oid), type, value];
}

function logSet(line) {
  fs.appendFileSync(files.sets, `${line}\n`);
}

function isStuck(cfg, faults, sw, outlet) {
  const stuck = Array.isArray(faults.stuck) ? faults.stuck : [];
  return stuck.includes(`${sw}:${outlet}`);
}

function answerSet(oidLine, valueLine) {
  const oid = parseOid(oidLine);
  if (!oid) return ["not-writable"];
  const { cfg, state, faults } = load();
  const p = cfg.profile;
  // Which outlet's control cell is this? Compare against every real row.
  // (snmpd GETs an instance before it SETs it: a row that does not exist
  // never gets here, snmpd refuses it by itself.) With control.onOid, the
  // control column only switches off and the onOid column only on.
  const columns = p.control.onOid
    ? [
        { oid: p.control.oid, values: { off: p.control.off } },
        { oid: p.control.onOid, values: { on: p.control.on } },
      ]
    : [{ oid: p.control.oid, values: { on: p.control.on, off: p.control.off } }];
  let target;
  for (const col of columns) {
    for (let sw = 1; sw <= cfg.switches && !target; sw++) {
      for (let outlet = 1; outlet <= cfg.outlets; outlet++) {
        const cell = parseOid(`${col.oid}.${fill(p.index, sw, outlet)}`);
        if (cell && compareOids(cell, oid) === 0) {
          target = { sw, outlet, values: col.values };
          break;
        }
      }
    }
  }
  if (!target) return ["not-writable"]; // the state or name column, the count
  const plug = plugName(target.sw, target.outlet);
  const m = /^(\S+)\s*(.*)$/.exec(String(valueLine).trim());
  const type = m ? m[1].toLowerCase() : "";
  const raw = m ? m[2].trim() : "";
  if (type !== "integer") {
    logSet(`${plug} refused ${type || "empty"} ${raw}`.trimEnd());
    return ["wrong-type"];
  }
  if (!/^-?\d+$/.test(raw)) {
    logSet(`${plug} refused ${raw}`);
    return ["wrong-value"];
  }
  const value = Number(raw);
  let want;
  if (value === target.values.on) want = "on";
  else if (value === target.values.off) want = "off";
  else {
    logSet(`${plug} refused ${value}`);
    return ["wrong-value"];
  }
  logSet(`${plug} ${want}`);
  if (isStuck(cfg, faults, target.sw, target.outlet)) return ["DONE"];
  const row = outletOf(state, target.sw, target.outlet);
  if (row.state !== want) {
    row.state = want;
    writeAtomic(files.state, `${JSON.stringify(state, null, 2)}\n`);
  }
  return ["DONE"];
}

// ---- the loop ----------------------------------------------------------------

let pending = []; // lines of the request being read
let buffered = "";

function handleLine(line) {
  if (pending.length === 0) {
    const cmd = line.trim().toLowerCase();
    if (cmd === "ping") {
      say(["PONG"]);
      return;
    }
    if (cmd === "get" || cmd === "getnext" || cmd === "set") {
      pending.push(cmd);
      return;
    }
    if (cmd !== "") logError("request", new Error(`unknown command ${JSON.stringify(line)}`));
    return;
  }
  pending.push(line);
  const cmd = pending[0];
  if (cmd === "set" && pending.length < 3) return;
  const request = pending;
  pending = [];
  try {
    if (cmd === "set") say(answerSet(request[1], request[2]));
    else say(answerGet(request[1], cmd === "getnext"));
  } catch (err) {
    logError(`${request.join(" | ")}`, err);
    // not-writable is one of the few words snmpd maps (others turn into it anyway).
    say([cmd === "set" ? "not-writable" : "NONE"]);
  }
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl).replace(/\r$/, "");
    buffered = buffered.slice(nl + 1);
    try {
      handleLine(line);
    } catch (err) {
      logError("line", err);
    }
  }
  if (buffered.length > 65536) buffered = ""; // no line is ever this long
});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.on("uncaughtException", (err) => logError("uncaught", err));
