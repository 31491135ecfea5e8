/**
 * docs/adding-an-agent.md, proven: a copy of the sources plus one new file, fence/fence_scratch.ts
 * (a scratch agent with an alias, the ssl option group and a BMC protocol of its own), and nothing
 * else changed. Its metadata, man page, `--help`, dispatch under its name and its alias, the
 * top usage, the build's link, the packages' tables, check's device family and the inventory's
 * protocol choices all pick it up, from sources and from the built executable. The copy lives in
 * a temporary directory (node_modules linked, not copied) and is removed at the end.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** What the build and the tables read: the sources, the templates, the scripts, the packaging. */
const COPIED = [
  "lib",
  "fence",
  "agents",
  "commands",
  "topology",
  "crm-templates",
  "scripts",
  "packaging",
  "package.json",
  "tsconfig.json",
];

/** The whole new agent: what docs/adding-an-agent.md's section 1 says a file holds. */
const SCRATCH = `/**
 * fence_scratch: the recipe's example (docs/adding-an-agent.md). Its device is always on.
 */
import type { FenceAgent, FenceRegistration } from "../lib/fence/agent.js";
import { FenceFailure } from "../lib/fence/errors.js";
import { standard } from "../lib/fence/options.js";

interface ScratchSession {
  readonly state: "on" | "off";
}

export const fenceScratch: FenceAgent<ScratchSession> = {
  docs: {
    name: "fence_scratch",
    shortdesc: "Fence agent for the recipe's scratch device",
    longdesc: "fence_scratch shows what one file makes of a fence agent.",
    vendorUrl: "https://example.org",
  },
  aliases: [{ name: "fence_example", shortdesc: "The scratch agent under fence-agents' name" }],
  options: [{ ...standard.ip, required: true }, standard.username, standard.password],
  groups: ["ssl"],
  plugs: "none",
  required: ["ip"],
  needsPassword: false,
  device: {
    async connect() {
      return { state: "on" };
    },
    async getPowerState(session) {
      return session.state;
    },
    async setPowerState() {
      throw new FenceFailure("Failed: the scratch device cannot switch");
    },
    async disconnect() {},
  },
};

export const registration: FenceRegistration<ScratchSession> = {
  agent: fenceScratch,
  shipped: true,
  replaces: { agent: "fence_example", package: "fence-agents-example" },
  topology: { level: "bmc", protocol: "scratch", recognises: ["fence_example_old"], probes: [] },
};
`;

/** Reads the tables in the copy, as scripts/package.mjs and kvmha check do. */
const DRIVER = `
import { aliasTable, commandTable, fenceAgentSummaries } from "./lib/cli/main.js";
import { familyOf } from "./topology/check/devices.js";
import { inventorySchema } from "./topology/inventory/schema.js";
const schema = inventorySchema() as { $defs: { bmc: { properties: { protocol: { enum: string[] } } } } };
process.stdout.write(JSON.stringify({
  commands: commandTable(),
  aliases: aliasTable(),
  summaries: fenceAgentSummaries(),
  family: [familyOf("fence_scratch"), familyOf("fence_example"), familyOf("fence_example_old")],
  protocols: schema.$defs.bmc.properties.protocol.enum,
}));
`;

let copy = "";

function run(
  program: string,
  args: readonly string[],
  cwd = copy,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(program, args, {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" },
    timeout: 120_000,
    killSignal: "SIGKILL",
  });
  if (r.error) throw new Error(`${program} ${args.join(" ")}: ${r.error.message}`);
  return r;
}

/** `kvmha ARGS` from the copy's sources. */
const fromSources = (...args: string[]) =>
  run(process.execPath, ["--import", "tsx", "lib/cli/entry.ts", ...args]);

describe("the recipe: one new file is a new agent", () => {
  before(() => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-recipe-"));
    for (const entry of COPIED)
      fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
    fs.writeFileSync(path.join(copy, "fence/fence_scratch.ts"), SCRATCH);
  });
  after(() => {
    if (copy !== "") fs.rmSync(copy, { recursive: true, force: true });
  });

  it("the copy differs from the sources by that one file", () => {
    const list = (root: string) =>
      COPIED.flatMap((entry) => {
        const p = path.join(root, entry);
        return fs.statSync(p).isDirectory()
          ? (fs.readdirSync(p, { recursive: true }) as string[]).map((f) => `${entry}/${f}`)
          : [entry];
      }).sort();
    const added = list(copy).filter((f) => !list(ROOT).includes(f));
    assert.deepEqual(added, ["fence/fence_scratch.ts"]);
  });

  it("metadata (its alias as <symlink>, the ssl group's options), man page, --help", () => {
    const md = fromSources("fence_scratch", "-o", "metadata");
    assert.equal(md.status, 0, md.stderr);
    assert.match(
      md.stdout,
      /<resource-agent name="fence_scratch" shortdesc="Fence agent for the recipe&apos;s scratch device" >/,
    );
    assert.match(md.stdout, /<symlink name="fence_example" /);
    for (const p of ["ip", "ssl_insecure", "ssl_cacert", "ssl_fingerprint", "gnutlscli_path"])
      assert.match(md.stdout, new RegExp(`<parameter name="${p}" `), p);
    const page = fromSources("fence_scratch", "-o", "manpage");
    assert.equal(page.status, 0, page.stderr);
    assert.match(page.stdout, /^\.TH FENCE_SCRATCH 8 /m);
    assert.match(page.stdout, /^\.SH OTHER NAMES$/m);
    const help = fromSources("fence_scratch", "--help");
    assert.match(help.stdout, /^Usage:\n\tfence_scratch \[options\]/);
  });

  it("dispatch under its name and its alias; kvmha --help lists both", () => {
    for (const name of ["fence_scratch", "fence_example"]) {
      const r = fromSources(name, "-o", "status", "--ip", "192.0.2.1");
      assert.deepEqual([r.status, r.stdout], [0, "Status: ON\n"], `${name}: ${r.stderr}`);
    }
    const off = fromSources("fence_scratch", "-o", "off", "--ip", "192.0.2.1");
    assert.equal(off.status, 1);
    assert.match(off.stderr, /the scratch device cannot switch/);
    const top = fromSources("--help");
    assert.match(top.stdout, /agents: .*fence_scratch/);
    assert.match(top.stdout, /fence_example/);
  });

  it("the packages' tables, check's family and the inventory's protocols read it", () => {
    // Beside the copied directories, not in them: the copy's sources stay one file apart.
    fs.writeFileSync(path.join(copy, "recipe-driver.ts"), DRIVER);
    const r = run(process.execPath, ["--import", "tsx", "recipe-driver.ts"]);
    assert.equal(r.status, 0, r.stderr);
    const t = JSON.parse(r.stdout) as {
      commands: { name: string; kind: string; shipped: boolean; package: string }[];
      aliases: { name: string; of: string; owner: string }[];
      summaries: { name: string; replaces: string }[];
      family: string[];
      protocols: string[];
    };
    assert.deepEqual(
      t.commands.find((c) => c.name === "fence_scratch"),
      { name: "fence_scratch", kind: "fence", shipped: true, package: "kvmha" },
    );
    assert.deepEqual(
      t.aliases.find((a) => a.name === "fence_example"),
      { name: "fence_example", of: "fence_scratch", owner: "fence-agents-example" },
    );
    assert.ok(
      t.summaries.some((s) => s.name === "fence_scratch" && s.replaces === "fence_example"),
    );
    assert.deepEqual(t.family, ["scratch", "scratch", "scratch"]);
    assert.deepEqual(t.protocols, ["ipmi", "redfish", "scratch"]);
  });

  it("the build links it and the executable runs it (bundled by fence/registry.ts's pattern import)", () => {
    const b = run(process.execPath, ["scripts/build.mjs"]);
    assert.equal(b.status, 0, b.stderr);
    const manifest = JSON.parse(fs.readFileSync(path.join(copy, "dist/manifest.json"), "utf8")) as {
      commands: { name: string }[];
    };
    assert.ok(manifest.commands.some((c) => c.name === "fence_scratch"));
    const exe = path.join(copy, "dist/bin/fence_scratch");
    assert.equal(fs.readlinkSync(exe), "kvmha");
    const md = run(exe, ["-o", "metadata"]);
    assert.equal(md.status, 0, md.stderr);
    assert.equal(md.stdout, fromSources("fence_scratch", "-o", "metadata").stdout);
    const alias = run(path.join(copy, "dist/bin/kvmha"), [
      "fence_example",
      "-o",
      "status",
      "--ip=192.0.2.1",
    ]);
    assert.deepEqual([alias.status, alias.stdout], [0, "Status: ON\n"], alias.stderr);
  });
});
