/** ocf:kvmha:VirtualDomain's migration target: remoteuri and migrateuri from the parameters (lib/libvirt/migrate.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MigrationConfigError,
  migrationPlan,
  remoteFromLocal,
  withSuffix,
} from "../../lib/libvirt/migrate.js";

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
