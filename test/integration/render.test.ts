// Why one file: each generation's tests share the samples it renders and applies once in before().
/**
 * kvmha render's outputs proven with Pacemaker's own tools, in each lab generation (Pacemaker 2.1
 * with pcs 0.11 and crmsh 4.4; Pacemaker 3.0 with pcs 0.12 and crmsh 5), each sample rendered FOR
 * that generation. For each sample inventory: the pcs script applied with `pcs -f` (through the
 * script's CIB_file mode) with nothing said but the notes listed below, the crmsh script with
 * `crm configure load update` on a CIB_file without a warning, the XML with cibadmin on a CIB
 * file; crm_verify clean for all three; the three CIBs equal once normalized; crm_simulate fences a
 * failed node (a Pacemaker Remote node too) and moves its guests, and a fenced node that returns
 * takes nothing back (stickiness).
 *
 * pcs and crm_resource validate agent parameters against the agents' metadata, so the built agents
 * are linked where Pacemaker looks for them (/usr/sbin for fence agents, /usr/lib/ocf/resource.d
 * for OCF agents) for the duration of the test, only where nothing exists yet, and only the links
 * made here are removed. This is the faithful way: --force would skip the very checks we want.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseStringPromise } from "xml2js";
import { parseCib } from "../../topology/check/cib.js";
import { contextOf } from "../../topology/check/context.js";
import { runRules } from "../../topology/check/rules.js";
import { applyWaivers } from "../../topology/check/waivers.js";
import { loadInventory } from "../../topology/inventory/load.js";
import type { Inventory } from "../../topology/inventory/model.js";
import { dependencyNames } from "../../topology/inventory/policy.js";
import { type IdFormat, generatedIds, toolsIdClash } from "../../topology/render/ids.js";
import { planCluster } from "../../topology/render/plan.js";
import { renderFormat } from "../../topology/render/render.js";
import type { Format } from "../../topology/render/templates.js";
import { agentPath } from "../lab/agents.js";
import type { RunResult } from "../lab/clients.js";
import { labGenerations } from "../lab/generation.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/inventories");
const TEMPLATES = path.join(ROOT, "crm-templates");
const SAMPLES = [
  "two-node",
  "three-node",
  "multi-outlet",
  "sbd",
  "no-pdu",
  "remote",
  "redfish",
] as const;

/**
 * What pcs says while pcs.sh runs that is not a warning about the configuration: pcs -f cannot ask
 * the cluster (node existence, corosync's node names) and cannot reach a remote node (the authkey
 * and pacemaker-remoted are set up on it by hand, as the script's comments say); its echo of an
 * order constraint; and the reminder that defaults do not override a resource's own values. Any
 * other line (a deprecation, a validation failure, "no effect") fails the test.
 */
const PCS_NOTES: readonly RegExp[] = [
  /^Warning: Validation for node existence in the cluster will be skipped$/,
  /^Warning: Defaults do not apply to resources which override them with their own defined values$/,
  /^Unable to check if there is a conflict with nodes set in corosync because the command does not run on a live cluster \(e\.g\. -f was used\)$/,
  /^Distribution of 'pacemaker authkey' to '[\w.-]+' was skipped because the command does not run on a live cluster \(e\.g\. -f was used\)\. Please, distribute the file\(s\) manually\.$/,
  /^Running action\(s\) 'pacemaker_remote enable', 'pacemaker_remote start' on '[\w.-]+' was skipped because the command does not run on a live cluster \(e\.g\. -f was used\)\. Please, run the action\(s\) manually\.$/,
  /^Adding [\w.-]+ [\w.-]+ \(kind: Mandatory\) \(Options: id=[\w.-]+ first-action=start then-action=start\)$/,
];
const OCF_DIR = "/usr/lib/ocf/resource.d/kvmha";
const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

function ok(r: RunResult, what: string): void {
  assert.equal(
    r.code,
    0,
    `${what} failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}):\n${r.stdout}\n${r.stderr}`,
  );
}

interface Sample {
  readonly name: string;
  readonly dir: string;
  readonly inventory: Inventory;
  /** Cluster members (the CIB's nodes before anything is applied). */
  readonly nodes: readonly string[];
  readonly remotes: readonly string[];
  readonly guests: readonly string[];
  /** The guests that start (not staged with target-role Stopped). */
  readonly started: readonly string[];
  readonly files: ReadonlyMap<string, string>;
  /** Every id the rendering makes, by format (topology/render/ids.ts). */
  readonly ids: ReadonlyMap<IdFormat, ReadonlySet<string>>;
}

type Xml = { $?: Record<string, string> } & {
  [child: string]: Xml[] | Record<string, string> | undefined;
};

function children(x: Xml | undefined, name: string): Xml[] {
  const c = x?.[name];
  return Array.isArray(c) ? c : [];
}
function attr(x: Xml | undefined, name: string): string | undefined {
  return x?.$?.[name];
}
/** "60s", "60", "1min" as seconds; durations are the one place the three tools spell values differently. */
function seconds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\s*(s|sec|m|min|ms|msec)?$/.exec(v);
  assert.ok(m !== null, `duration '${v}'`);
  const n = Number(m[1]);
  return m[2] === "m" || m[2] === "min" ? n * 60 : m[2] === "ms" || m[2] === "msec" ? n / 1000 : n;
}
function pairs(sets: Xml[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of sets)
    for (const nv of children(set, "nvpair")) out[attr(nv, "name") ?? ""] = attr(nv, "value") ?? "";
  return out;
}

/**
 * A CIB's configuration without what the tools are free to choose: ids of nvpairs, sets and
 * operations, element order, comments, and the spelling of durations. Everything else (devices,
 * their agents and parameters, levels, constraints with their ids, resources, utilization,
 * properties) must be identical.
 */
async function normalized(file: string): Promise<unknown> {
  const doc = (await parseStringPromise(fs.readFileSync(file, "utf8"))) as { cib: Xml };
  const conf = children(doc.cib, "configuration")[0];
  const props = pairs(children(children(conf, "crm_config")[0], "cluster_property_set"));
  const primitives = children(children(conf, "resources")[0], "primitive").map((p) => ({
    id: attr(p, "id"),
    class: attr(p, "class"),
    provider: attr(p, "provider"),
    type: attr(p, "type"),
    params: pairs(children(p, "instance_attributes")),
    meta: pairs(children(p, "meta_attributes")),
    utilization: pairs(children(p, "utilization")),
    ops: children(children(p, "operations")[0], "op")
      .map((o) => ({
        name: attr(o, "name"),
        interval: seconds(attr(o, "interval")),
        timeout: seconds(attr(o, "timeout")),
      }))
      .sort((a, b) => `${a.name}`.localeCompare(`${b.name}`)),
  }));
  const constraintsEl = children(conf, "constraints")[0];
  const constraints = children(constraintsEl, "rsc_location").map((c) => c.$);
  // Actions and kind as Pacemaker reads them when absent (crmsh writes only what is said).
  const orders = children(constraintsEl, "rsc_order").map((c) => ({
    id: attr(c, "id"),
    first: attr(c, "first"),
    then: attr(c, "then"),
    firstAction: attr(c, "first-action") ?? "start",
    thenAction: attr(c, "then-action") ?? "start",
    kind: attr(c, "kind") ?? "Mandatory",
  }));
  const colocations = children(constraintsEl, "rsc_colocation").map((c) => ({
    id: attr(c, "id"),
    rsc: attr(c, "rsc"),
    withRsc: attr(c, "with-rsc"),
    score: attr(c, "score")?.replace(/^\+?inf(inity)?$/i, "INFINITY"),
  }));
  const rscDefaults = pairs(children(children(conf, "rsc_defaults")[0], "meta_attributes"));
  const levels = children(children(conf, "fencing-topology")[0], "fencing-level").map(
    (l) => `${attr(l, "target")} ${attr(l, "index")} ${attr(l, "devices")}`,
  );
  const nodes = children(children(conf, "nodes")[0], "node")
    .map((n) => ({
      uname: attr(n, "uname"),
      type: attr(n, "type") ?? "member",
      utilization: pairs(children(n, "utilization")),
    }))
    .sort((a, b) => `${a.uname}`.localeCompare(`${b.uname}`));
  const byId = (a: { id?: string | undefined }, b: { id?: string | undefined }): number =>
    `${a.id}`.localeCompare(`${b.id}`);
  return {
    props,
    primitives: primitives.sort(byId),
    constraints: constraints.sort((a, b) => `${a?.id}`.localeCompare(`${b?.id}`)),
    orders: orders.sort(byId),
    colocations: colocations.sort(byId),
    rscDefaults,
    levels: levels.sort(),
    nodes,
  };
}

/** The ids of a CIB's configuration (the status section's are the cluster's own). */
function idsOf(xml: string): string[] {
  const conf = xml.slice(xml.indexOf("<configuration"), xml.indexOf("</configuration>"));
  return [...conf.matchAll(/ id="([^"]*)"/g)].map((m) => m[1] ?? "");
}

function placement(output: string, guests: readonly string[]): Map<string, string> {
  const revised = output.slice(output.lastIndexOf("Revised Cluster Status"));
  const at = new Map<string, string>();
  for (const g of guests) {
    const m = new RegExp(`\\* ${g}\\s+\\(ocf:kvmha:VirtualDomain\\):\\s+Started (\\S+)`).exec(
      revised,
    );
    if (m?.[1] !== undefined) at.set(g, m[1]);
  }
  return at;
}

/** The lines of crm_simulate's "Transition Summary" (what the cluster would do). */
function transition(output: string): string[] {
  const start = output.indexOf("Transition Summary:");
  if (start === -1) return [];
  const end = output.indexOf("Executing Cluster Transition:", start);
  return output
    .slice(start, end === -1 ? undefined : end)
    .split("\n")
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l.startsWith("*"));
}

/** A domain XML for validate-all (pcs 0.12 runs it for every resource it creates). */
function domainXml(name: string): string {
  return `<domain type="kvm"><name>${name}</name><memory unit="MiB">256</memory><vcpu>1</vcpu><os><type arch="x86_64">hvm</type></os></domain>\n`;
}

for (const gen of labGenerations()) {
  describe(gen.title, () => {
    const made: string[] = [];
    let madeOcfDir = false;
    let tmp = "";
    const ocfDir = gen.hostPath(OCF_DIR);

    function link(target: string, file: string): void {
      if (fs.existsSync(file)) return;
      fs.symlinkSync(target, file);
      made.push(file);
    }

    /** Runs a program on a CIB file (CIB_file), bounded. */
    function onCib(
      cib: string,
      program: string,
      args: readonly string[],
      input?: string,
    ): Promise<RunResult> {
      return gen.run(program, args, {
        env: { PATH, LC_ALL: "C", CIB_file: cib, HOME: tmp },
        killAfterMs: 120_000,
        ...(input === undefined ? {} : { input }),
      });
    }

    const samples = new Map<string, Sample>();

    /**
     * The fixture with its secret paths moved into the test's directory, rendered in every format.
     * The community files are written, though nothing may read them when the configuration is applied.
     */
    async function prepare(name: string): Promise<Sample> {
      const dir = path.join(tmp, name);
      const secrets = path.join(dir, "secrets");
      const vms = path.join(dir, "vm");
      fs.mkdirSync(secrets, { recursive: true });
      fs.mkdirSync(vms, { recursive: true });
      const text = fs
        .readFileSync(path.join(FIXTURES, `${name}.yaml`), "utf8")
        .replaceAll("/etc/kvmha/", `${secrets}/`)
        .replaceAll("/srv/vm/", `${vms}/`);
      for (const m of text.matchAll(/community_file: ([^\s,}]+)/g))
        fs.writeFileSync(m[1] ?? "", `community-of-${path.basename(m[1] ?? "")}\n`, {
          mode: 0o600,
        });
      const inventoryFile = path.join(dir, `${name}.yaml`);
      fs.writeFileSync(inventoryFile, text);
      const { inventory } = await loadInventory(inventoryFile);
      // The domain XML on "shared storage": pcs 0.12 runs VirtualDomain's validate-all, which reads it.
      for (const g of inventory.guests) fs.writeFileSync(g.config, domainXml(g.name));
      const files = new Map<string, string>();
      for (const format of ["pcs", "crmsh", "cib"] as Format[]) {
        for (const f of await renderFormat(inventory, format, TEMPLATES, inventoryFile, {
          pacemaker: gen.pacemaker,
        })) {
          const file = path.join(dir, f.name);
          fs.writeFileSync(file, f.text, { mode: f.executable ? 0o755 : 0o644 });
          files.set(f.name, file);
        }
      }
      const made = generatedIds(planCluster(inventory), inventory);
      const ids = new Map<IdFormat, Set<string>>();
      for (const f of ["cib", "pcs", "crmsh"] as const)
        ids.set(f, new Set(made.filter((g) => g.formats.includes(f)).map((g) => g.id)));
      return {
        name,
        dir,
        inventory,
        nodes: inventory.nodes.filter((n) => n.remote === undefined).map((n) => n.name),
        remotes: inventory.nodes.filter((n) => n.remote !== undefined).map((n) => n.name),
        guests: inventory.guests.map((g) => g.name),
        started: inventory.guests.filter((g) => g.targetRole !== "Stopped").map((g) => g.name),
        files,
        ids,
      };
    }

    /**
     * An empty CIB with the cluster's nodes in it and online, as a running cluster has once its nodes
     * have joined (without node states, crm_verify warns that every node is unclean).
     */
    async function baseCib(sample: Sample, file: string): Promise<void> {
      const empty = await gen.run(gen.requireProgram("cibadmin"), ["--empty"], {
        env: { PATH, LC_ALL: "C" },
      });
      ok(empty, "cibadmin --empty");
      const bare = `${file}.bare`;
      fs.writeFileSync(bare, empty.stdout);
      for (const [i, node] of sample.nodes.entries()) {
        ok(
          await onCib(bare, gen.requireProgram("cibadmin"), [
            "--create",
            "--scope",
            "nodes",
            "--xml-text",
            `<node id="${i + 1}" uname="${node}"/>`,
          ]),
          `adding node ${node}`,
        );
      }
      // The clones the guests depend on exist before kvmha's configuration, as on a real cluster.
      for (const clone of dependencyNames(sample.inventory.dependencies))
        ok(
          await onCib(bare, gen.requireProgram("cibadmin"), [
            "--create",
            "--scope",
            "resources",
            "--xml-text",
            `<clone id="${clone}"><primitive id="${clone}-rsc" class="ocf" provider="pacemaker" type="Dummy"/></clone>`,
          ]),
          `adding clone ${clone}`,
        );
      const up = sample.nodes.flatMap((n) => ["--node-up", n]);
      ok(
        await gen.run(
          gen.requireProgram("crm_simulate"),
          ["--xml-file", bare, "--quorum", "true", ...up, "--save-output", file],
          { env: { PATH, LC_ALL: "C" }, killAfterMs: 60_000 },
        ),
        "crm_simulate --node-up",
      );
    }

    async function crmVerifyClean(cib: string): Promise<void> {
      const r = await gen.run(gen.requireProgram("crm_verify"), ["--xml-file", cib, "-V"], {
        env: { PATH, LC_ALL: "C" },
        killAfterMs: 60_000,
      });
      ok(r, `crm_verify -x ${cib}`);
      assert.equal(
        `${r.stdout}${r.stderr}`.trim(),
        "",
        `crm_verify -x ${cib} -V is not silent:\n${r.stdout}${r.stderr}`,
      );
    }

    function sample(name: string): Sample {
      const s = samples.get(name);
      assert.ok(s !== undefined, `${name} was not prepared`);
      return s;
    }

    before(async () => {
      for (const p of [
        "pcs",
        "crm",
        "cibadmin",
        "crm_verify",
        "crm_simulate",
        "crm_resource",
        "crm_attribute",
      ] as const)
        gen.requireProgram(p);
      link(agentPath("fence_ipmi"), gen.hostPath("/usr/sbin/fence_ipmi"));
      link(agentPath("fence_pdu"), gen.hostPath("/usr/sbin/fence_pdu"));
      // fence-agents' fence_redfish where it is installed (the same parameters kvmha renders),
      // else kvmha's (the Pacemaker 3 root has no fence-agents-redfish).
      link(agentPath("fence_redfish"), gen.hostPath("/usr/sbin/fence_redfish"));
      if (!fs.existsSync(ocfDir)) {
        fs.mkdirSync(ocfDir, { recursive: true });
        madeOcfDir = true;
      }
      link(agentPath("VirtualDomain"), path.join(ocfDir, "VirtualDomain"));
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-render-"));
      for (const name of SAMPLES) samples.set(name, await prepare(name));
    });

    after(() => {
      for (const file of made.reverse()) fs.rmSync(file, { force: true });
      if (madeOcfDir) fs.rmSync(ocfDir, { recursive: true, force: true });
      if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
    });

    describe("kvmha render: pcs script applied with pcs -f", () => {
      for (const name of SAMPLES) {
        it(`${name}: the script runs on an empty CIB and crm_verify is clean`, async () => {
          const s = sample(name);
          const cib = path.join(s.dir, "pcs.xml");
          await baseCib(s, cib);
          const r = await onCib(cib, "/bin/sh", [s.files.get("pcs.sh") ?? ""]);
          ok(r, "pcs.sh");
          const said = `${r.stdout}\n${r.stderr}`
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l !== "" && !PCS_NOTES.some((n) => n.test(l)));
          assert.deepEqual(said, [], `pcs said more than its notes:\n${said.join("\n")}`);
          await crmVerifyClean(cib);
          const xml = fs.readFileSync(cib, "utf8");
          for (const node of s.nodes)
            assert.match(xml, new RegExp(`<fencing-level [^>]*target="${node}"`));
          for (const guest of s.guests)
            assert.match(xml, new RegExp(`<primitive [^>]*id="${guest}"`));
          assert.match(xml, /name="stonith-enabled" value="true"/);
        });
      }
    });

    describe("kvmha render: crmsh configuration loaded with crm configure load update", () => {
      for (const name of SAMPLES) {
        it(`${name}: crmsh-apply.sh loads it into an empty CIB and crm_verify is clean`, async () => {
          const s = sample(name);
          const cib = path.join(s.dir, "crmsh.xml");
          await baseCib(s, cib);
          const r = await onCib(cib, "/bin/sh", [s.files.get("crmsh-apply.sh") ?? ""]);
          ok(r, "crmsh-apply.sh");
          assert.doesNotMatch(r.stdout + r.stderr, /WARNING|ERROR/, r.stdout + r.stderr);
          await crmVerifyClean(cib);
          const xml = fs.readFileSync(cib, "utf8");
          for (const node of s.nodes)
            assert.match(xml, new RegExp(`<fencing-level [^>]*target="${node}"`));
          for (const guest of s.guests)
            assert.match(xml, new RegExp(`<primitive [^>]*id="${guest}"`));
        });
      }
    });

    describe("kvmha render: CIB XML applied with cibadmin", () => {
      for (const name of SAMPLES) {
        it(`${name}: cib-apply.sh applies it with cibadmin --modify and crm_verify is clean`, async () => {
          const s = sample(name);
          const cib = path.join(s.dir, "cib.xml.applied");
          await baseCib(s, cib);
          ok(await onCib(cib, "/bin/sh", [s.files.get("cib-apply.sh") ?? ""]), "cib-apply.sh");
          await crmVerifyClean(cib);
        });
      }
    });

    describe("kvmha render: the three formats give the same CIB", () => {
      for (const name of SAMPLES) {
        it(`${name}: pcs, crmsh and cibadmin results are equal once normalized`, async () => {
          const s = sample(name);
          const files = ["pcs.xml", "crmsh.xml", "cib.xml.applied"].map((f) => path.join(s.dir, f));
          for (const f of files)
            assert.ok(fs.existsSync(f), `${f} is missing (its apply test failed)`);
          const [pcs, crmsh, cib] = await Promise.all(files.map(normalized));
          assert.deepEqual(crmsh, pcs, "crmsh differs from pcs");
          assert.deepEqual(cib, pcs, "CIB XML differs from pcs");
          // what the cluster lab asked for landed in the CIB: a BMC tried once, every device's failures expire
          const devices = (
            pcs as {
              primitives: {
                id?: string;
                class?: string;
                type?: string;
                params: Record<string, string>;
                meta: Record<string, string>;
              }[];
            }
          ).primitives.filter((p) => p.class === "stonith");
          assert.ok(devices.length > 0);
          for (const d of devices) {
            assert.equal(d.meta["failure-timeout"], "120s", `${d.id ?? ""} failure-timeout`);
            const once = d.type === "fence_ipmi" || d.type === "fence_redfish" ? "1" : undefined;
            assert.equal(d.params["pcmk_off_retries"], once, `${d.id ?? ""} pcmk_off_retries`);
            assert.equal(
              d.params["pcmk_reboot_retries"],
              once,
              `${d.id ?? ""} pcmk_reboot_retries`,
            );
          }
          // and the community is referenced, never copied: community_file F is community_script=/bin/cat F
          const text = fs.readFileSync(files[0] ?? "", "utf8");
          assert.doesNotMatch(text, /community-of-|name="community"/);
          for (const m of fs
            .readFileSync(path.join(s.dir, `${name}.yaml`), "utf8")
            .matchAll(/community_file: ([^\s,}]+)/g)) {
            assert.ok(
              text.includes(`name="community_script" value="/bin/cat ${m[1] ?? ""}"`),
              `community_script for ${m[1] ?? ""}`,
            );
          }
        });
      }
    });

    describe("kvmha render: each applied CIB checks clean, with the ids kvmha render checked", () => {
      for (const name of SAMPLES) {
        it(`${name}: kvmha check --strict finds nothing; every new id is one ids.ts lists or a tool's own`, async () => {
          const s = sample(name);
          const base = path.join(s.dir, "ids-base.xml");
          await baseCib(s, base);
          const before = new Set(idsOf(fs.readFileSync(base, "utf8")));
          for (const [file, format] of [
            ["pcs.xml", "pcs"],
            ["crmsh.xml", "crmsh"],
            ["cib.xml.applied", "cib"],
          ] as const) {
            const full = path.join(s.dir, file);
            assert.ok(fs.existsSync(full), `${full} is missing (its apply test failed)`);
            const xml = fs.readFileSync(full, "utf8");
            // as `kvmha check --strict` counts them: what the inventory waives on purpose aside
            const ctx = contextOf(parseCib(xml));
            const { findings } = applyWaivers(ctx, runRules(ctx));
            assert.deepEqual(
              findings.map((f) => `${f.severity} ${f.id}: ${f.message}`),
              [],
              `${file}: kvmha check --strict`,
            );
            const listed = s.ids.get(format) ?? new Set<string>();
            const unknown = idsOf(xml).filter(
              (id) => !before.has(id) && !listed.has(id) && toolsIdClash(id) === undefined,
            );
            assert.deepEqual(unknown, [], `${file}: ids ${format} made that ids.ts does not list`);
          }
        });
      }
    });

    /** The guests' nodes in crm_simulate's "Revised Cluster Status". */
    describe("kvmha render: crm_simulate fences a failed node and moves its guests", () => {
      for (const name of SAMPLES) {
        it(`${name}: node failure → fencing, guests restarted elsewhere; the fenced node takes nothing back; standby → live migration`, async () => {
          const s = sample(name);
          const simulate = gen.requireProgram("crm_simulate");
          const started = path.join(s.dir, "started.xml");
          const r1 = await gen.run(
            simulate,
            ["--xml-file", path.join(s.dir, "pcs.xml"), "--simulate", "--save-output", started],
            { env: { PATH, LC_ALL: "C" }, killAfterMs: 60_000 },
          );
          ok(r1, "crm_simulate (start)");
          const before = placement(r1.stdout, s.guests);
          assert.deepEqual(
            [...before.keys()].sort(),
            [...s.started].sort(),
            `the guests that start (not staged) did not all start, or a staged one did:\n${r1.stdout}`,
          );
          const victim = before.get(s.started[0] ?? "") ?? "";
          const moved = s.started.filter((g) => before.get(g) === victim);
          const migratable = new Set(
            s.inventory.guests.filter((g) => g.allowMigrate).map((g) => g.name),
          );
          const remote = s.remotes.includes(victim);

          // A member fails (corosync loses it); a Pacemaker Remote node fails as its connection
          // does: the connection's monitor fails on the member that holds it.
          const host = remote
            ? new RegExp(`\\* ${victim}\\s+\\(ocf:pacemaker:remote\\):\\s+Started (\\S+)`).exec(
                r1.stdout.slice(r1.stdout.lastIndexOf("Revised Cluster Status")),
              )?.[1]
            : undefined;
          const failure = remote
            ? ["--op-inject", `${victim}_monitor_20000@${host ?? "?"}=7`]
            : ["--node-fail", victim];
          const r2 = await gen.run(simulate, ["--xml-file", started, ...failure, "--simulate"], {
            env: { PATH, LC_ALL: "C" },
            killAfterMs: 60_000,
          });
          ok(r2, `crm_simulate ${failure.join(" ")}`);
          assert.match(r2.stdout, new RegExp(`Fence \\(reboot\\) ${victim} `), r2.stdout);
          assert.match(r2.stdout, new RegExp(`Fencing ${victim} \\(reboot\\)`), r2.stdout);
          const after = placement(r2.stdout, s.guests);
          for (const g of moved) {
            assert.match(r2.stdout, new RegExp(`Move\\s+${g}\\s+\\( ${victim} -> `), r2.stdout);
            assert.ok(
              after.get(g) !== undefined && after.get(g) !== victim,
              `${g} is not running elsewhere:\n${r2.stdout}`,
            );
          }

          // A fenced member comes back: nothing moves back to it (stickiness), no guest and no
          // fencing device; what is stopped may start there.
          const member = remote ? (s.nodes[0] ?? "") : victim;
          const failed = path.join(s.dir, "failed.xml");
          ok(
            await gen.run(
              simulate,
              ["--xml-file", started, "--node-fail", member, "--simulate", "--save-output", failed],
              { env: { PATH, LC_ALL: "C" }, killAfterMs: 60_000 },
            ),
            `crm_simulate --node-fail ${member}`,
          );
          const r4 = await gen.run(
            simulate,
            ["--xml-file", failed, "--node-up", member, "--simulate"],
            { env: { PATH, LC_ALL: "C" }, killAfterMs: 60_000 },
          );
          ok(r4, "crm_simulate --node-up (the fenced node returns)");
          const back = transition(r4.stdout).filter((l) => /^\* (Move|Migrate|Restart)\s/.test(l));
          assert.deepEqual(back, [], `resources move back to ${member}:\n${r4.stdout}`);

          // A planned evacuation (standby) live-migrates the guests that may (allow-migrate=true).
          const standby = path.join(s.dir, "standby.xml");
          fs.copyFileSync(started, standby);
          ok(
            await onCib(standby, gen.requireProgram("crm_attribute"), [
              "--node",
              victim,
              "--name",
              "standby",
              "--update",
              "on",
            ]),
            "crm_attribute standby",
          );
          const r3 = await gen.run(simulate, ["--xml-file", standby, "--simulate"], {
            env: { PATH, LC_ALL: "C" },
            killAfterMs: 60_000,
          });
          ok(r3, "crm_simulate (standby)");
          for (const g of moved)
            assert.match(
              r3.stdout,
              new RegExp(`${migratable.has(g) ? "Migrate" : "Move"}\\s+${g}\\s+\\( ${victim} -> `),
              r3.stdout,
            );
          assert.doesNotMatch(r3.stdout, /Fence/, r3.stdout);
        });
      }
    });
  });
}
