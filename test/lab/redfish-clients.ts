// Clients of the lab Redfish BMC for tests: fence_redfish's options for a BMC, fence-agents'
// fence_redfish (options on stdin, the lab CA through requests' REQUESTS_CA_BUNDLE) and curl
// (credentials in its config on stdin). No password is ever on a command line built here.

import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before } from "node:test";

import { stdinOf } from "./agents.js";
import { REDFISH_LAB_PROGRAMS, requireProgram } from "./bins.js";
import { type RunResult, run } from "./clients.js";
import {
  type LabCertificates,
  REDFISH_ADMIN,
  RedfishBmc,
  type RedfishLabUser,
  type RedfishQuirks,
  type Vendor,
  makeLabCertificates,
} from "./redfish-bmc.js";

export type AgentOptions = Record<string, string | number | boolean | undefined>;

/**
 * One set of lab certificates for a test file (made in `before`, removed in `after`), after
 * checking that every program of the Redfish lab is installed. Read `.current` inside tests.
 */
export function labCertificatesForFile(): { current: LabCertificates } {
  const holder = { current: undefined as unknown as LabCertificates };
  let dir: string | undefined;
  before(async () => {
    for (const program of REDFISH_LAB_PROGRAMS) requireProgram(program);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "kvmha-redfish-certs-"));
    holder.current = makeLabCertificates(dir);
  });
  after(async () => {
    if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true });
  });
  return holder;
}

export function startLabBmc(
  certificates: LabCertificates,
  vendor: Vendor = "dell",
  quirks: RedfishQuirks = {},
  power: "on" | "off" = "on",
): Promise<RedfishBmc> {
  return RedfishBmc.start({ vendor, quirks, power, certificates });
}

/**
 * A test file's Redfish lab: its certificates (made in `before`), BMCs that use them, and
 * fence_redfish's options for a BMC. Read `certificates` inside tests, not at load.
 */
export function redfishLabForFile(): {
  readonly certificates: LabCertificates;
  readonly startBmc: (
    vendor?: Vendor,
    quirks?: RedfishQuirks,
    power?: "on" | "off",
  ) => Promise<RedfishBmc>;
  readonly target: (bmc: { host: string; port: number }, extra?: AgentOptions) => AgentOptions;
} {
  const cert = labCertificatesForFile();
  return {
    get certificates() {
      return cert.current;
    },
    startBmc: (vendor = "dell", quirks = {}, power = "on") =>
      startLabBmc(cert.current, vendor, quirks, power),
    target: (bmc, extra = {}) => redfishTarget(bmc, cert.current, extra),
  };
}

/** fence_redfish's options for `bmc`, as the admin account, trusting the lab CA. */
export function redfishTarget(
  bmc: { host: string; port: number },
  certificates: LabCertificates,
  extra: AgentOptions = {},
): AgentOptions {
  return {
    ip: bmc.host,
    ipport: bmc.port,
    username: REDFISH_ADMIN.name,
    password: REDFISH_ADMIN.password,
    ssl_cacert: certificates.caFile,
    ...extra,
  };
}

/** The resets the BMC received since `mark`, as "ResetType status". */
export function resetsSince(bmc: RedfishBmc, mark: number): string[] {
  return bmc
    .since(mark)
    .filter((r) => r.resetType !== undefined)
    .map((r) => `${r.resetType} ${r.status}`);
}

/** fence-agents' fence_redfish with `options` on stdin; it trusts `caFile` (if any) via requests. */
export function fenceRedfishReference(options: AgentOptions, caFile?: string): Promise<RunResult> {
  const { ssl_cacert: _, ...theirs } = options;
  return run(requireProgram("fence_redfish"), [], {
    input: stdinOf(theirs),
    killAfterMs: 60_000,
    env: {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      LC_ALL: "C",
      ...(caFile === undefined ? {} : { REQUESTS_CA_BUNDLE: caFile }),
    },
  });
}

/** curl against the lab BMC, trusting the lab CA; stdout ends with "\n<HTTP status>". */
export function curlRedfish(
  certificates: LabCertificates,
  args: readonly string[],
  user: RedfishLabUser = REDFISH_ADMIN,
): Promise<RunResult> {
  return run(
    requireProgram("curl"),
    ["-sS", "-K", "-", "--cacert", certificates.caFile, "-w", "\n%{http_code}", ...args],
    { input: `user = "${user.name}:${user.password}"\n`, killAfterMs: 30_000 },
  );
}
