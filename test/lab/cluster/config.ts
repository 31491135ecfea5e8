// The lab cluster's Pacemaker configuration. With kvmha's agents it is what
// an admin does: an inventory of the lab (nodes, their BMCs, both PDUs, the
// guests) rendered by the built `kvmha render`, its pcs script run on the
// first node; then the few things the inventory has no key for (migrateuri,
// resource-stickiness, per-test extras) with crm_resource/crm_attribute.
// The reference agents (render emits kvmha's agents only) get the same
// topology as CIB XML in one cibadmin --replace.
//
// Per node N:  level 1 = fence-ipmi-N (fence_ipmi, its BMC, pcmk_host_list=N,
//              kept off N itself); the lab's Redfish node (startCluster's
//              redfishNode): fence-redfish-N (fence_redfish, ssl_cacert the lab CA)
//              level 2 = fence-pdu-a,fence-pdu-b (fence_pdu, pcmk_host_map
//              with N's outlet on each PDU)
// Per guest:   ocf:kvmha:VirtualDomain, config on the shared directory,
//              allow-migrate=true, migration over TCP between the nodes.

import fsp from "node:fs/promises";
import path from "node:path";

import { requireProgram } from "../bins.js";
import { DIST_BIN } from "../agents.js";
import { run as runProgram } from "../clients.js";
import { buildInitramfs, guestKernel, guestXml } from "../libvirt-guest.js";
import type { Cluster } from "./cluster.js";

export interface LabGuest {
  name: string;
  /** Domain XML on the shared directory (the resource's config=). */
  xmlFile: string;
  /** The serial console's log (uptime lines). */
  consoleLog: string;
}

/**
 * Whose agents: kvmha's (fence_ipmi, fence_pdu, ocf:kvmha:VirtualDomain) or the ClusterLabs
 * references they replace (fence_ipmilan, fence_apc_snmp, ocf:heartbeat:VirtualDomain), with the
 * same options: kvmha's agents take the references' names.
 */
export type AgentSet = "kvmha" | "reference";

const AGENTS: Record<
  AgentSet,
  { ipmi: string; pdu: string; vdProvider: string; ipmiExtra: Record<string, string> }
> = {
  kvmha: { ipmi: "fence_ipmi", pdu: "fence_pdu", vdProvider: "kvmha", ipmiExtra: {} },
  // ipmitool without -C asks Get Channel Cipher Suites, which ipmi_sim answers in a way ipmitool
  // 1.8.19 rejects ("Unable to Get Channel Cipher Suites"): 14 s per call. The IPMI lab always
  // gives the reference its cipher suite; so does this one.
  reference: {
    ipmi: "fence_ipmilan",
    pdu: "fence_apc_snmp",
    vdProvider: "heartbeat",
    ipmiExtra: { cipher: "3" },
  },
};

export interface ConfigureOptions {
  /** Default 'kvmha'. */
  agents?: AgentSet;
  /** Guest names ([a-z0-9-]); each becomes a VirtualDomain resource. */
  guests: string[];
  /** Guest memory (MiB); default 128. */
  memoryMb?: number;
  /** Extra cluster properties (name → value). */
  properties?: Record<string, string>;
  /** Extra fence_ipmi options for every IPMI device (e.g. timeouts). */
  ipmiExtra?: Record<string, string>;
  /** Extra fence_pdu options for both PDU devices. */
  pduExtra?: Record<string, string>;
}

export interface Configured {
  guests: LabGuest[];
  /** The commands run, in order (the record of what was configured). */
  commands: string[][];
}

const GUEST_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/**
 * A lab remote node's reconnect_interval (s): after its fencing the cluster tries its connection
 * again this long after the failure (the inventory's default, 60 s, would hold a test that long).
 */
export const REMOTE_RECONNECT_S = 15;

/** Write the guests' XML, kernel-side files and console paths onto the shared directory. */
export async function writeGuests(
  c: Cluster,
  names: readonly string[],
  memoryMb = 128,
): Promise<LabGuest[]> {
  const shared = c.nodes.sharedDir;
  const k = guestKernel();
  const initrd = path.join(shared, "initramfs.cpio.gz");
  await fsp.writeFile(initrd, buildInitramfs(k));
  const emulator = requireProgram("qemu-system-x86_64");
  const guests: LabGuest[] = [];
  for (const name of names) {
    if (!GUEST_NAME.test(name)) throw new Error(`guest name '${name}': [a-z][a-z0-9-]`);
    const dir = path.join(shared, name);
    await fsp.mkdir(dir, { recursive: true });
    const consoleLog = path.join(dir, "console.log");
    const xmlFile = path.join(dir, `${name}.xml`);
    await fsp.writeFile(
      xmlFile,
      guestXml({ name, memoryMb, vcpus: 1, kernel: k.kernel, initrd, consoleLog, emulator }),
    );
    guests.push({ name, xmlFile, consoleLog });
  }
  return guests;
}

function esc(v: string): string {
  return v.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function nvpairs(id: string, o: Record<string, string>): string {
  return Object.entries(o)
    .map(([k, v]) => `<nvpair id="${esc(`${id}-${k}`)}" name="${esc(k)}" value="${esc(v)}"/>`)
    .join("");
}

interface Op {
  name: string;
  interval?: string;
  timeout?: string;
}

function primitive(o: {
  id: string;
  cls: string;
  provider?: string;
  type: string;
  params: Record<string, string>;
  meta?: Record<string, string>;
  ops: Op[];
}): string {
  const meta = o.meta
    ? `<meta_attributes id="${o.id}-meta_attributes">${nvpairs(`${o.id}-meta_attributes`, o.meta)}</meta_attributes>`
    : "";
  const ops = o.ops
    .map(
      (op) =>
        `<op id="${o.id}-${op.name}-interval-${op.interval ?? "0s"}" name="${op.name}" interval="${op.interval ?? "0s"}"${op.timeout ? ` timeout="${op.timeout}"` : ""}/>`,
    )
    .join("");
  return (
    `<primitive id="${o.id}" class="${o.cls}"${o.provider ? ` provider="${o.provider}"` : ""} type="${o.type}">` +
    `<instance_attributes id="${o.id}-instance_attributes">${nvpairs(`${o.id}-instance_attributes`, o.params)}</instance_attributes>` +
    `${meta}<operations>${ops}</operations></primitive>`
  );
}

/** The configuration sections (resources, constraints, fencing topology, defaults) as CIB XML. */
export function topologyXml(
  c: Cluster,
  guests: readonly LabGuest[],
  o: Pick<ConfigureOptions, "ipmiExtra" | "pduExtra" | "agents"> = {},
): {
  resources: string;
  constraints: string;
  fencingTopology: string;
  rscDefaults: string;
} {
  const names = c.nodes.nodes.map((n) => n.name);
  if (c.redfish !== undefined)
    throw new Error("the reference agents' configuration has no Redfish node (kvmha render's has)");
  const a = AGENTS[o.agents ?? "kvmha"];
  const res: string[] = [];
  const cons: string[] = [];
  const levels: string[] = [];
  for (const n of names) {
    const id = `fence-ipmi-${n}`;
    res.push(
      primitive({
        id,
        cls: "stonith",
        type: a.ipmi,
        params: { ...c.ipmiOptions(n), ...a.ipmiExtra, ...o.ipmiExtra, pcmk_host_list: n },
        ops: [{ name: "monitor", interval: "60s" }],
      }),
    );
    // A node never fences itself through its own BMC.
    cons.push(
      `<rsc_location id="location-${id}-${n}--INFINITY" rsc="${id}" node="${n}" score="-INFINITY"/>`,
    );
  }
  const hostMap = names.map((n) => `${n}:${c.outletOf(n)}`).join(";");
  for (const [i, id] of ["fence-pdu-a", "fence-pdu-b"].entries()) {
    res.push(
      primitive({
        id,
        cls: "stonith",
        type: a.pdu,
        params: { ...c.pduOptions(i), ...o.pduExtra, pcmk_host_map: hostMap },
        ops: [{ name: "monitor", interval: "60s" }],
      }),
    );
  }
  for (const n of names) {
    levels.push(
      `<fencing-level id="fl-${n}-1" index="1" target="${n}" devices="fence-ipmi-${n}"/>`,
    );
    levels.push(
      `<fencing-level id="fl-${n}-2" index="2" target="${n}" devices="fence-pdu-a,fence-pdu-b"/>`,
    );
  }
  for (const g of guests) {
    res.push(
      primitive({
        id: g.name,
        cls: "ocf",
        provider: a.vdProvider,
        type: "VirtualDomain",
        params: {
          config: g.xmlFile,
          hypervisor: "qemu:///system",
          migration_transport: "tcp",
          migrateuri: "tcp://%n",
        },
        meta: { "allow-migrate": "true" },
        ops: [
          { name: "start", timeout: "60s" },
          { name: "stop", timeout: "60s" },
          { name: "monitor", interval: "10s", timeout: "30s" },
          { name: "migrate_to", timeout: "120s" },
          { name: "migrate_from", timeout: "60s" },
        ],
      }),
    );
  }
  return {
    resources: res.join(""),
    constraints: cons.join(""),
    fencingTopology: `<fencing-topology>${levels.join("")}</fencing-topology>`,
    // Guests stay where they run when a node comes back (no migration back and forth).
    rscDefaults:
      '<rsc_defaults><meta_attributes id="rsc_defaults-meta_attributes"><nvpair id="rsc_defaults-meta_attributes-resource-stickiness" name="resource-stickiness" value="100"/></meta_attributes></rsc_defaults>',
  };
}

/** The lab as a kvmha inventory (docs/inventory.md): what an admin would write for this cluster. */
export async function labInventory(
  c: Cluster,
  guests: readonly LabGuest[],
  dir: string,
): Promise<string> {
  const names = c.nodes.nodes.map((n) => n.name);
  // Secrets by reference, in root-only files the agents read on the nodes (the lab directory is
  // visible at the same path in every node's mount namespace).
  const pwFile = path.join(dir, "bmc.pw");
  const commFile = path.join(dir, "pdu.community");
  const first = c.ipmiOptions(names[0]!);
  await fsp.writeFile(pwFile, `${first.password}\n`, { mode: 0o600 });
  await fsp.writeFile(commFile, `${c.pduOptions(0).community}\n`, { mode: 0o600 });
  // The Redfish node's BMC: its own password; its lab CA copied beside the inventory.
  const rfPwFile = path.join(dir, "bmc-redfish.pw");
  const rfCa = path.join(dir, "redfish-ca.pem");
  if (c.redfish !== undefined) {
    const r = c.redfishOptions(c.redfish.node);
    await fsp.writeFile(rfPwFile, `${r.password}\n`, { mode: 0o600 });
    await fsp.copyFile(r.ssl_cacert!, rfCa);
  }
  const q = (v: string) => JSON.stringify(v);
  const lines = [
    "# The cluster lab (test/lab/cluster), as kvmha render reads it.",
    "cluster:",
    "  name: kvmha-lab",
    "nodes:",
  ];
  for (const n of names) {
    const b = c.ipmiOptions(n);
    const node = c.nodes.node(n);
    lines.push(`  - name: ${n}`);
    if (node.remote)
      lines.push(
        `    remote: { address: ${q(node.address)}, reconnect_interval: ${REMOTE_RECONNECT_S} }`,
      );
    if (n === c.redfish?.node) {
      const r = c.redfishOptions(n);
      lines.push(
        `    bmc: { protocol: redfish, address: ${q(r.ip!)}, port: ${r.ipport}, user: ${q(r.username!)}, password_file: ${q(rfPwFile)}, ssl_cacert: ${q(rfCa)}, systems_uri: ${q(r.systems_uri!)} }`,
      );
    } else
      lines.push(
        `    bmc: { address: ${q(b.ip!)}, port: ${b.ipport}, user: ${q(b.username!)}, password_file: ${q(pwFile)}, lanplus: true }`,
      );
    lines.push(
      "    power:",
      `      - { pdu: a, outlets: [${c.outletOf(n)}] }`,
      `      - { pdu: b, outlets: [${c.outletOf(n)}] }`,
    );
  }
  lines.push("pdus:");
  for (const [i, id] of ["a", "b"].entries()) {
    const p = c.pduOptions(i);
    lines.push(
      `  - { name: ${id}, address: ${q(p.ip!)}, port: ${p.ipport}, snmp_version: "2c", community_file: ${q(commFile)} }`,
    );
  }
  lines.push("guests:");
  for (const g of guests)
    lines.push(
      `  - { name: ${g.name}, config: ${q(g.xmlFile)}, hypervisor: "qemu:///system", allow_migrate: true, migration: { transport: tcp } }`,
    );
  const file = path.join(dir, "inventory.yaml");
  await fsp.writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

/**
 * kvmha's agents: the lab's inventory rendered by the built `kvmha render` (dist/bin), its pcs script applied from the first node as an admin would (live mode: pcs on a
 * CIB copy, one cib-push), then what the inventory has no key for, with Pacemaker's own tools.
 * The reference agents: the same topology written as CIB XML (render emits kvmha's agents only),
 * in one cibadmin --replace.
 */
export async function configureCluster(c: Cluster, o: ConfigureOptions): Promise<Configured> {
  const on = c.nodes.nodes[0]!;
  const guests = await writeGuests(c, o.guests, o.memoryMb);
  if ((o.agents ?? "kvmha") === "reference") return configureByXml(c, guests, o);
  const dir = path.join(c.nodes.dir, "config");
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const inventory = await labInventory(c, guests, dir);
  const out = path.join(dir, "rendered");
  // The built executable (it finds crm-templates/ beside dist/; the lab's copy of it does not).
  const kvmha = path.join(DIST_BIN, "kvmha");
  // For the nodes' Pacemaker (pcs 0.11 or 0.12 applies it).
  const args = [
    "render",
    inventory,
    "--output",
    out,
    "--pacemaker",
    String(c.nodes.generation?.pacemaker ?? 2),
  ];
  const commands: string[][] = [[kvmha, ...args]];
  const r = await runProgram(kvmha, args, { killAfterMs: 30_000 });
  if (r.code !== 0) throw new Error(`kvmha render failed (exit ${r.code}): ${r.stderr.trim()}`);
  const pcsScript = path.join(out, "pcs.sh");
  commands.push(["sh", pcsScript]);
  await on.execOk("sh", [pcsScript], { killAfterMs: 240_000 });
  // Not in the inventory: the migration URI (guests migrate over the nodes' own addresses, by
  // name), guests staying where they run when a node returns, extra device options and properties.
  const extra: string[][] = [];
  for (const g of guests)
    extra.push([
      "crm_resource",
      "--resource",
      g.name,
      "--set-parameter",
      "migrateuri",
      "--parameter-value",
      "tcp://%n",
    ]);
  extra.push([
    "crm_attribute",
    "--type",
    "rsc_defaults",
    "--name",
    "resource-stickiness",
    "--update",
    "100",
  ]);
  for (const n of c.nodes.nodes.filter((x) => x.name !== c.redfish?.node))
    for (const [k, v] of Object.entries(o.ipmiExtra ?? {}))
      extra.push([
        "crm_resource",
        "--resource",
        `fence-ipmi-${n.name}`,
        "--set-parameter",
        k,
        "--parameter-value",
        v,
      ]);
  for (const id of ["fence-pdu-a", "fence-pdu-b"])
    for (const [k, v] of Object.entries(o.pduExtra ?? {}))
      extra.push(["crm_resource", "--resource", id, "--set-parameter", k, "--parameter-value", v]);
  for (const [k, v] of Object.entries(o.properties ?? {}))
    extra.push(["crm_attribute", "--type", "crm_config", "--name", k, "--update", v]);
  for (const a of extra) {
    await on.execOk(a[0]!, a.slice(1), { killAfterMs: 30_000 });
    commands.push(a);
  }
  return { guests, commands };
}

/** The reference agents' configuration: topologyXml() into the live CIB in one replace from the first node. */
async function configureByXml(
  c: Cluster,
  guests: LabGuest[],
  o: ConfigureOptions,
): Promise<Configured> {
  const on = c.nodes.nodes[0]!;
  const cib = await on.execOk("cibadmin", ["--query"], { killAfterMs: 20_000 });
  const x = topologyXml(c, guests, o);
  const props = { "stonith-enabled": "true", ...o.properties };
  let text = cib.replace(
    /(<cib\b[^>]*\bepoch=")(\d+)"/,
    (_m, pre: string, n: string) => `${pre}${Number(n) + 1}"`,
  );
  const section = (name: string, body: string) => {
    const empty = new RegExp(`<${name}/>`);
    const open = new RegExp(`<${name}>`);
    if (empty.test(text)) text = text.replace(empty, `<${name}>${body}</${name}>`);
    else if (open.test(text)) text = text.replace(open, `<${name}>${body}`);
    else throw new Error(`CIB has no <${name}> section`);
  };
  section("resources", x.resources);
  section("constraints", x.constraints);
  text = text.replace("</constraints>", `</constraints>${x.fencingTopology}${x.rscDefaults}`);
  const nv = Object.entries(props).map(
    ([k, v]) => `<nvpair id="cib-bootstrap-options-${esc(k)}" name="${esc(k)}" value="${esc(v)}"/>`,
  );
  for (const k of Object.keys(props))
    text = text.replace(new RegExp(`<nvpair[^>]*name="${k}"[^>]*/>`), "");
  text = text.replace(
    '<cluster_property_set id="cib-bootstrap-options">',
    `<cluster_property_set id="cib-bootstrap-options">${nv.join("")}`,
  );
  const file = path.join(c.nodes.dir, "cib-configured.xml");
  await fsp.writeFile(file, text);
  await on.execOk("cibadmin", ["--replace", "--xml-file", file], { killAfterMs: 30_000 });
  return { guests, commands: [["cibadmin", "--replace", "--xml-file", file]] };
}
