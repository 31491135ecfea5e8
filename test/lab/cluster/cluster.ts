// The whole cluster lab (docs/cluster-lab.md): the nodes (nodes.ts), a BMC
// per node and two PDUs with an outlet per node (the IPMI and PDU labs'
// simulators), the management network that lets the nodes reach them
// (relay.ts), and the power that ties them together (power.ts).

import { ADMIN_USER, startBmc, type Bmc } from "../ipmi-bmc.js";
import { PDU_COMMUNITIES, startPdu, type Pdu } from "../pdu-sim.js";
import { profileById } from "../../../lib/pdu-profiles/index.js";
import { startNodes, type Nodes, type NodesOptions } from "./nodes.js";
import { startPower, type Power } from "./power.js";
import { startRelay, type Relay } from "./relay.js";

export const BMC_PORT = 623;
export const PDU_PORT = 161;
/** The PDUs' device profile: APC switched rack PDU (fence_pdu recognises it by sysObjectID). */
export const PDU_PROFILE = "apc-rpdu";

export interface Cluster {
  readonly nodes: Nodes;
  /** BMC per node name. */
  readonly bmcs: ReadonlyMap<string, Bmc>;
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

export async function startCluster(opts: NodesOptions = {}): Promise<Cluster> {
  const specs = opts.nodes ?? [
    { name: "node1", address: "10.77.0.1" },
    { name: "node2", address: "10.77.0.2" },
    { name: "node3", address: "10.77.0.3" },
  ];
  const first = specs[0]!.address;
  const bmcIps = specs.map((_, i) => mgmtAddress(first, 101 + i));
  const pduIps = [mgmtAddress(first, 201), mgmtAddress(first, 202)];
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
    for (const s of specs) {
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
      bmc: bmcs.get(s.name)!,
      outlets: [i + 1, i + 1],
    }));
    const power = startPower({ feeds, pdus });
    started.push(power);
    const relay = await startRelay({
      dir: nodes.dir,
      hubNetns: nodes.hubNetns,
      targets: [
        ...specs.map((s, i) => ({
          address: bmcIps[i]!,
          port: BMC_PORT,
          upstreamHost: bmcs.get(s.name)!.host,
          upstreamPort: bmcs.get(s.name)!.port,
          powered: () => power.bmcPowered(s.name),
        })),
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
      pdus,
      power,
      relay,
      bmcAddress: (node) => ({ ip: bmcIps[indexOf(node)]!, port: BMC_PORT }),
      pduAddress: (i) => ({ ip: pduIps[i]!, port: PDU_PORT }),
      outletOf: (node) => indexOf(node) + 1,
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
