// Scenarios 1 (node hang) and 2 (total power loss) of the cluster lab (docs/cluster-lab.md) with the
// ClusterLabs reference agents in kvmha's place: fence_ipmilan, fence_apc_snmp and
// ocf:heartbeat:VirtualDomain, same topology, same options, their defaults. The times are printed
// beside kvmha's (cluster-failover.test.ts); only correctness is asserted: fenced, guests back,
// never twice. Needs root, the lab's packages (scripts/lab-deps.sh: fence-agents, resource-agents)
// and `npm run build` (the lab's nodes are built the same way).
// Run: node --import tsx --test test/integration/cluster-reference.test.ts

import { after, before, describe, test } from "node:test";

import { startFailoverLab, type FailoverLab } from "../lab/cluster/failover.js";

describe("cluster failover with the reference agents", { timeout: 1_200_000 }, () => {
  let lab: FailoverLab | undefined;
  before(async () => {
    lab = await startFailoverLab({ guests: ["vm1", "vm2"], agents: "reference" });
  });
  after(async () => {
    await lab?.stop();
  });

  test("scenario 2 (total power loss) with fence_ipmilan, fence_apc_snmp, heartbeat VirtualDomain", () =>
    lab!.scenario(async () => {
      await lab!.timed(
        "reference: scenario 2 (total power loss)",
        (v) => lab!.c.power.setSuppliesDead(v.name, true),
        300_000,
      );
    }));

  test("scenario 1 (node hang) with fence_ipmilan, fence_apc_snmp, heartbeat VirtualDomain", () =>
    lab!.scenario(async () => {
      await lab!.timed(
        "reference: scenario 1 (node hang)",
        async (v) => {
          v.killProcesses(/^(corosync|pacemakerd|pacemaker-.*)$/);
        },
        300_000,
      );
    }));
});
