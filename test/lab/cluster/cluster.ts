// The whole cluster lab (docs/cluster-lab.md): the nodes (nodes.ts), a BMC
// per node and two PDUs with an outlet per node (the IPMI and PDU labs'
// simulators), the management network that lets the nodes reach them
// (relay.ts), and the power that ties them together (power.ts). With
// `redfishNode`, that node's BMC is the lab Redfish BMC (redfish-bmc.ts, iDRAC's
// resources) instead of ipmi_sim: HTTPS at the same management address, port 443.

import fs from "node:fs";
import path from "node:path";

import { ADMIN_USER, startBmc, type Bmc } from "../ipmi-bmc.js";
import { REDFISH_ADMIN, RedfishBmc } from "../redfish-bmc.js";
import { PDU_COMMUNITIES, startPdu, type Pdu } from "../pdu-sim.js";
import { profileById } from "../../../lib/pdu-profiles/index.js";
import { startNodes, type Nodes, type NodesOptions } from "./nodes.js";
import { startPower, type Power } from "./power.js";
import { startRelay, type Relay } from "./relay.js";

export const BMC_PORT = 623;
export const PDU_PORT = 161;
export const REDFISH_PORT = 443;
/** The PDUs' device profile: APC switched rack PDU (fence_pdu recognises it by sysObjectID). */
export const PDU_PROFILE = "apc-rpdu";

export interface ClusterOptions extends NodesOptions {
  /**
   * This node's BMC speaks Redfish (the lab Redfish BMC, vendor iDRAC) instead of IPMI: no
   * ipmi_sim for it; its resets switch the node's power as ipmi_sim's chassis control does.
   */
  redfishNode?: string;
}

export interface LabRedfishBmc {
  /** The node whose BMC it is. */
  readonly node: string;
  readonly bmc: RedfishBmc;
  /** Where the nodes reach it (HTTPS). */
  readonly ip: string;
  readonly port: number;
}

export interface Cluster {
  readonly nodes: Nodes;
  /** IPMI BMC per node name (every node but the Redfish one). */
  readonly bmcs: ReadonlyMap<string, Bmc>;
  /** The Redfish node's BMC, when the lab has one. */
  readonly redfish: LabRedfishBmc | undefined;
  /** PDU A and PDU B. */
  readonly pdus: readonly Pdu[];
  readonly power: Power;
  readonly relay: Relay;
  /** Where the nodes reach a node's BMC. */
  bmcAddress(node: string): { ip: string; port: number };
  /** Where the nodes reach PDU `i` (0: A, 1: B). */
  pduAddress(i: number): { ip: string; port: number };
  /** The node's outlet on each PDU (1-based), same for both PDUs. */
  outletOf(node: string): number;
  /** fence_redfish options for the Redfish node's BMC (stdin / CIB form; ssl_cacert its lab CA). */
  redfishOptions(node: string): Record<string, string>;
  /** fence_ipmi options for a node's BMC (stdin / CIB form). */
  ipmiOptions(node: string): Record<string, string>;
  /** fence_pdu options for PDU `i`. */
  pduOptions(i: number): Record<string, string>;
  stop(): Promise<void>;
}

/** The management network's addresses: BMC of node i at .101+i, PDU A/B at .201/.202 (same /24 as the nodes). */
function mgmtAddress(nodeAddress: string, host: number): string {
  return nodeAddress.replace(/\.\d+$/, `.${host}`);
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const specs = opts.nodes ?? [
    { name: "node1", address: "10.77.0.1" },
    { name: "node2", address: "10.77.0.2" },
    { name: "node3", address: "10.77.0.3" },
  ];
  const first = specs[0]!.address;
  const bmcIps = specs.map((_, i) => mgmtAddress(first, 101 + i));
  const pduIps = [mgmtAddress(first, 201), mgmtAddress(first, 202)];
  if (opts.redfishNode !== undefined && !specs.some((s) => s.name === opts.redfishNode))
    throw new Error(`redfishNode '${opts.redfishNode}' is not a node of the lab`);
  if (opts.redfishNode !== undefined && opts.generation !== undefined)
    throw new Error("a Redfish node runs on the host's generation only");
  const profile = profileById(PDU_PROFILE);
  if (!profile) throw new Error(`no PDU profile ${PDU_PROFILE}`);

  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    const errs: unknown[] = [];
    for (const s of started.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        errs.push(err);
      }
    }
    if (errs.length > 0) throw errs[0];
  };

  try {
    // Devices first (they must answer when the nodes' fencers look), then the nodes.
    const bmcs = new Map<string, Bmc>();
    let redfish: LabRedfishBmc | undefined;
    for (const [i, s] of specs.entries()) {
      if (s.name === opts.redfishNode) {
        // Its certificate names the management address the nodes use (ssl_cacert verifies it).
        const bmc = await RedfishBmc.start({ vendor: "dell", extraIps: [bmcIps[i]!] });
        started.push(bmc);
        // Resets are recorded as ipmi_sim's hook records chassis calls (power.ts reads them).
        fs.writeFileSync(path.join(bmc.dir, "chassis.log"), "");
        redfish = { node: s.name, bmc, ip: bmcIps[i]!, port: REDFISH_PORT };
        continue;
      }
      // The generation's ipmi_sim (the nodes' fence_ipmi reaches it through the relay).
      const bmc = await startBmc({ ...(opts.generation ? { generation: opts.generation } : {}) });
      started.push(bmc);
      bmcs.set(s.name, bmc);
    }
    const pdus: Pdu[] = [];
    for (let i = 0; i < 2; i++) {
      const pdu = await startPdu({ profile, outlets: Math.max(4, specs.length) });
      started.push(pdu);
      pdus.push(pdu);
    }
    const nodes = await startNodes({ ...opts, nodes: specs, hubAddresses: [...bmcIps, ...pduIps] });
    started.push(nodes);
    const feeds = specs.map((s, i) => ({
      node: nodes.node(s.name),
      bmc: s.name === redfish?.node ? redfish.bmc : bmcs.get(s.name)!,
      outlets: [i + 1, i + 1],
    }));
    const power = startPower({ feeds, pdus });
    started.push(power);
    if (redfish !== undefined) {
      const rf = redfish;
      rf.bmc.onPowerChange = (state) => {
        // Synchronously: when the agent reads the new state back, the node has it.
        fs.appendFileSync(
          path.join(rf.bmc.dir, "chassis.log"),
          `set power ${state === "on" ? 1 : 0}\n`,
        );
        power.sync();
      };
    }
    const relay = await startRelay({
      dir: nodes.dir,
      hubNetns: nodes.hubNetns,
      targets: [
        ...specs.map((s, i) => {
          const dev = s.name === redfish?.node ? redfish.bmc : bmcs.get(s.name)!;
          return {
            address: bmcIps[i]!,
            port: s.name === redfish?.node ? REDFISH_PORT : BMC_PORT,
            upstreamHost: dev.host,
            upstreamPort: dev.port,
            powered: () => power.bmcPowered(s.name),
            tcp: s.name === redfish?.node,
          };
        }),
        ...pdus.map((p, i) => ({
          address: pduIps[i]!,
          port: PDU_PORT,
          upstreamHost: p.host,
          upstreamPort: p.port,
          powered: () => true,
        })),
      ],
    });
    started.push(relay);

    const indexOf = (node: string): number => {
      const i = specs.findIndex((s) => s.name === node);
      if (i < 0) throw new Error(`no node '${node}'`);
      return i;
    };
    let stopped: Promise<void> | undefined;
    return {
      nodes,
      bmcs,
      redfish,
      pdus,
      power,
      relay,
      bmcAddress: (node) => ({ ip: bmcIps[indexOf(node)]!, port: BMC_PORT }),
      pduAddress: (i) => ({ ip: pduIps[i]!, port: PDU_PORT }),
      outletOf: (node) => indexOf(node) + 1,
      redfishOptions: (node) => {
        if (redfish === undefined || node !== redfish.node)
          throw new Error(`${node}'s BMC does not speak Redfish in this lab`);
        return {
          ip: redfish.ip,
          ipport: String(REDFISH_PORT),
          username: REDFISH_ADMIN.name,
          password: REDFISH_ADMIN.password,
          ssl_cacert: redfish.bmc.certificates.caFile,
          systems_uri: "/redfish/v1/Systems/System.Embedded.1",
        };
      },
      ipmiOptions: (node) => ({
        ip: bmcIps[indexOf(node)]!,
        ipport: String(BMC_PORT),
        username: ADMIN_USER.name,
        password: ADMIN_USER.password,
        lanplus: "1",
      }),
      pduOptions: (i) => ({
        ip: pduIps[i]!,
        ipport: String(PDU_PORT),
        community: PDU_COMMUNITIES.readWrite,
        snmp_version: "2c",
      }),
      stop() {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
