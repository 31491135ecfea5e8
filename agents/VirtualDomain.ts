/**
 * ocf:kvmha:VirtualDomain — a libvirt guest as a Pacemaker resource, with the parameters of
 * resource-agents' ocf:heartbeat:VirtualDomain (same names, defaults, meaning) and a few it lacks
 * (post-copy, auto-converge, a migration time limit, a guest-agent check): start, stop,
 * monitor/status, migrate_to/migrate_from, validate-all, reload-agent, meta-data
 * (docs/VirtualDomain.md).
 *
 * Safety rules, where they differ from the reference agent:
 * - every virsh call and every loop is bounded by the op deadline;
 * - stop never reports success while libvirt still shows the guest: graceful shutdown (honouring
 *   shutdown_mode) within the op timeout less a destroy reserve, then destroy, then a check;
 * - the domain's name and UUID are kept in HA_RSCTMP at start, so a stop or probe whose config
 *   file has gone still asks libvirt instead of assuming the guest is stopped;
 * - libvirt's failure states (crashed, paused on an I/O error) are failures, not "running";
 * - migrate_to aborts the migration job (domjobabort) before its deadline, leaving the guest here
 *   (never once it is in post-copy); migrate_from checks the guest runs here and never waits
 *   without bound;
 * - start keeps a persistent definition of the same name instead of undefining it;
 * - utilization is written only when it changed, so a steady-state monitor runs one virsh.
 *
 * This file is the declaration; each concern has its file in agents/VirtualDomain/: parameters,
 * domain (config file and HA_RSCTMP record), libvirt (session, virsh, state), start, stop,
 * monitor (and reload-agent), utilization, definition (the persistent definition start keeps),
 * save-config, migrate, validate. Plumbing any agent needs is in lib/ocf (toolbox.ts), libvirt's
 * in lib/libvirt.
 */
import type { OcfAgent } from "../lib/ocf/agent.js";
import { migrateFrom, migrateTo } from "./VirtualDomain/migrate.js";
import { monitor, reloadAgent } from "./VirtualDomain/monitor.js";
import { parameters } from "./VirtualDomain/parameters.js";
import { start } from "./VirtualDomain/start.js";
import { stop } from "./VirtualDomain/stop.js";
import { validate } from "./VirtualDomain/validate.js";

export const virtualDomain: OcfAgent = {
  name: "VirtualDomain",
  version: "1.0",
  shortdesc: "Manages virtual domains through the libvirt virtualization framework",
  longdesc:
    "Resource agent for a libvirt virtual domain (a KVM/QEMU guest, or any domain libvirt manages), with the parameters of ocf:heartbeat:VirtualDomain. start creates the domain from its XML file and waits until it runs; stop shuts it down gracefully within the stop timeout less a 15 s reserve, then destroys it, and succeeds only once libvirt no longer shows it running; monitor maps libvirt's states (crashed, or paused on an I/O error, is a failure) and writes the utilization attributes only when they change. A persistent definition of the same name is kept, not undefined. migrate_to live-migrates to the node Pacemaker names (virsh migrate --live) and aborts the migration job if it cannot finish within the operation's timeout, leaving the guest running on the source; migrate_from confirms the guest runs on the target. validate-all with OCF_CHECK_LEVEL=10 also checks the hypervisor, the emulator and libvirt's disk lock manager. Every virsh call is bounded by the operation's timeout.",
  parameters,
  actions: {
    start: { timeout: "90s", run: start },
    stop: { timeout: "90s", run: stop },
    status: { timeout: "30s", interval: "10s", depth: 0, run: monitor },
    monitor: { timeout: "30s", interval: "10s", depth: 0, run: monitor },
    migrate_from: { timeout: "60s", run: migrateFrom },
    migrate_to: { timeout: "120s", run: migrateTo },
    "reload-agent": { timeout: "20s", run: reloadAgent },
  },
  validateTimeout: "5s",
  requiredBinaries: ["virsh"],
  validate,
};
