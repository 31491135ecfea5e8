/**
 * ocf:kvmha:VirtualDomain's migration (lib/libvirt/migrate.ts): the target (remoteuri and
 * migrateuri from the parameters), and the job's timers against a stand-in virsh that records its
 * calls: the give-up time, the downtime limit once the job runs, the switch to post-copy.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Deadline } from "../../lib/deadline.js";
import {
  MigrationConfigError,
  MigrationJob,
  migrationPlan,
  remoteFromLocal,
  withSuffix,
} from "../../lib/libvirt/migrate.js";
import { assertWaited } from "../lab/bounds.js";

describe("migration plan", () => {
  it("derives the target URI from the hypervisor URI, as the reference", () => {
    assert.deepEqual(migrationPlan({ hypervisor: "qemu:///system", targetNode: "node2" }), {
      remoteUri: "qemu://node2/system",
      migrateUri: undefined,
      options: [],
      targetHost: "node2",
    });
    assert.equal(
      migrationPlan({
        hypervisor: "qemu:///system",
        targetNode: "node2",
        migrationTransport: "ssh",
      }).remoteUri,
      "qemu+ssh://node2/system",
    );
    assert.equal(
      migrationPlan({
        hypervisor: "qemu:///system",
        targetNode: "node2",
        migrationTransport: "ssh",
        migrationUser: "ha",
      }).remoteUri,
      "qemu+ssh://ha@node2/system",
    );
    assert.equal(
      migrationPlan({
        hypervisor: "qemu://node1:16509/system",
        targetNode: "node2",
        migrationTransport: "tcp",
      }).remoteUri,
      "qemu+tcp://node2:16509/system",
    );
    // A local socket is not carried to the target; a local transport is replaced.
    assert.equal(
      migrationPlan({
        hypervisor: "qemu+unix:///system?socket=/x/sock",
        targetNode: "n2",
        migrationTransport: "tcp",
      }).remoteUri,
      "qemu+tcp://n2/system",
    );
    assert.equal(
      remoteFromLocal("qemu+ssh://a/system?keyfile=/k", "b", undefined, undefined),
      "qemu+ssh://b/system?keyfile=/k",
    );
  });
  it("migration_network_suffix goes before the first dot, and makes the migration URI", () => {
    assert.equal(withSuffix("node2.example.com", "-mig"), "node2-mig.example.com");
    assert.equal(withSuffix("node2", "-mig"), "node2-mig");
    const p = migrationPlan({
      hypervisor: "qemu:///system",
      targetNode: "node2.ex",
      migrationTransport: "tcp",
      migrationNetworkSuffix: "-mig",
      migrateport: "49155",
    });
    assert.equal(p.remoteUri, "qemu+tcp://node2-mig.ex/system");
    assert.equal(p.migrateUri, "tcp://node2-mig.ex:49155");
  });
  it("remoteuri, migrateuri and migrate_options (with %n)", () => {
    const p = migrationPlan({
      hypervisor: "qemu:///system",
      targetNode: "b",
      remoteuri: "qemu+tcp://%n.lan/system",
      migrateuri: "tcp://%n-mig",
      migrateOptions: " --compressed  --p2p ",
    });
    assert.deepEqual(p, {
      remoteUri: "qemu+tcp://b.lan/system",
      migrateUri: "tcp://b-mig",
      options: ["--compressed", "--p2p"],
      targetHost: "b",
    });
    const q = migrationPlan({
      hypervisor: "qemu:///system",
      targetNode: "b",
      migrateOptions: "--unsafe --migrateuri=tcp://10.0.0.2 --compressed",
    });
    assert.equal(q.migrateUri, "tcp://10.0.0.2");
    assert.deepEqual(q.options, ["--unsafe", "--compressed"]);
    // Without %n anywhere no target node is needed.
    assert.equal(
      migrationPlan({
        hypervisor: "qemu:///system",
        targetNode: undefined,
        remoteuri: "qemu+tcp://10.0.0.2/system",
      }).remoteUri,
      "qemu+tcp://10.0.0.2/system",
    );
  });
  it("refuses what cannot be built", () => {
    assert.throws(
      () => migrationPlan({ hypervisor: "qemu:///system", targetNode: undefined }),
      (e) => e instanceof MigrationConfigError && /migrate_target is not set/.test(e.message),
    );
    assert.throws(
      () =>
        migrationPlan({
          hypervisor: "qemu:///system",
          targetNode: "",
          remoteuri: "qemu+tcp://%n/system",
        }),
      MigrationConfigError,
    );
    assert.throws(
      () => migrationPlan({ hypervisor: "qemu:///system", targetNode: "a b" }),
      /not a host name/,
    );
    assert.throws(
      () => migrationPlan({ hypervisor: "not a uri", targetNode: "b" }),
      /set remoteuri/,
    );
    assert.throws(
      () => migrationPlan({ hypervisor: "", targetNode: "b" }),
      /set hypervisor or remoteuri/,
    );
    assert.throws(
      () =>
        migrationPlan({ hypervisor: "qemu:///system", targetNode: "b", migrationUser: "Bad User" }),
      /not a user name/,
    );
  });
});

describe("migration job", () => {
  /** A virsh on PATH whose `migrate` takes `migrateS` seconds; every call is appended to calls. */
  function standIn(migrateS: number) {
    const dir = mkdtempSync(join(tmpdir(), "vd-job-"));
    const calls = join(dir, "calls");
    writeFileSync(calls, "");
    writeFileSync(
      join(dir, "virsh"),
      `#!/bin/sh\nshift\necho "$*" >> '${calls}'\n[ "$1" = migrate ] && exec sleep ${migrateS}\nexit 0\n`,
      { mode: 0o755 },
    );
    const said: string[] = [];
    const session = {
      uri: undefined,
      env: { PATH: `${dir}:/usr/bin:/bin` },
      signal: new AbortController().signal,
      log: {
        debug: () => undefined,
        info: (m: string) => said.push(`info: ${m}`),
        warning: (m: string) => said.push(`warning: ${m}`),
      },
    };
    const lines = () =>
      readFileSync(calls, "utf8")
        .split("\n")
        .filter((l) => l !== "");
    return { session, said, lines };
  }

  it("done: virsh migrate returned first; the downtime limit was set while it ran", async () => {
    const v = standIn(2);
    const job = new MigrationJob(
      v.session,
      "vm1",
      ["migrate", "--live", "vm1", "qemu://b/system"],
      Deadline.in(60_000),
      {
        abortAtMs: 30_000,
        downtimeMs: 300,
        postcopyAfterMs: undefined,
      },
    );
    assert.equal(await job.outcome(), "done");
    assert.equal((await job.finished()).code, 0);
    assert.deepEqual(v.lines(), [
      "migrate --live vm1 qemu://b/system",
      "migrate-setmaxdowntime vm1 300",
    ]);
    assert.deepEqual(v.said, ["info: domain vm1: migration downtime limit set to 300 ms"]);
  });

  it("late: the give-up time came first; post-copy was switched to after the time asked", async () => {
    const v = standIn(30);
    const job = new MigrationJob(
      v.session,
      "vm1",
      ["migrate", "--live", "vm1", "qemu://b/system"],
      Deadline.in(4000),
      {
        abortAtMs: 2500,
        downtimeMs: 0,
        postcopyAfterMs: 1000,
      },
    );
    assert.equal(await job.outcome(), "late");
    assertWaited(job.elapsedMs(), 2500, "the job runs until its give-up time");
    assert.deepEqual(v.lines(), ["migrate --live vm1 qemu://b/system", "migrate-postcopy vm1"]);
    assert.match(v.said[0] ?? "", /^info: domain vm1: migration switched to post-copy after /);
  });

  it("no post-copy switch too close to the give-up time", async () => {
    const v = standIn(30);
    const job = new MigrationJob(v.session, "vm1", ["migrate", "vm1", "x"], Deadline.in(4000), {
      abortAtMs: 1500,
      downtimeMs: 0,
      postcopyAfterMs: 1000,
    });
    assert.equal(await job.outcome(), "late");
    assert.deepEqual(v.lines(), ["migrate vm1 x"]);
  });
});
