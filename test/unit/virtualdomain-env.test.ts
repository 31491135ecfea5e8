/**
 * VirtualDomain's environment checks (pure): libvirt URIs, which qemu.conf a local QEMU driver
 * reads, and its lock_manager.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { imageFormat, overlayImage } from "../../lib/libvirt/images.js";
import {
  confString,
  diskLockManager,
  parseLibvirtUri,
  qemuConfPath,
} from "../../lib/libvirt/qemu-conf.js";

describe("libvirt URIs and qemu.conf", () => {
  it("parses driver, transport, host and path", () => {
    assert.deepEqual(parseLibvirtUri("qemu+unix:///system?socket=/x/sock"), {
      driver: "qemu",
      transport: "unix",
      host: "",
      path: "/system",
    });
    assert.deepEqual(parseLibvirtUri("qemu+ssh://root@node2:22/system"), {
      driver: "qemu",
      transport: "ssh",
      host: "root@node2:22",
      path: "/system",
    });
    assert.equal(parseLibvirtUri("not a uri"), undefined);
  });
  it("finds the local QEMU driver's qemu.conf, none for remote hosts or other drivers", () => {
    const env = { HOME: "/home/u" };
    assert.equal(qemuConfPath("qemu:///system", env), "/etc/libvirt/qemu.conf");
    assert.equal(
      qemuConfPath("qemu+unix:///system?socket=/lab/run/libvirt-sock", env),
      "/etc/libvirt/qemu.conf",
    );
    assert.equal(qemuConfPath("qemu:///session", env), "/home/u/.config/libvirt/qemu.conf");
    assert.equal(
      qemuConfPath("qemu:///session", { ...env, XDG_CONFIG_HOME: "/cfg" }),
      "/cfg/libvirt/qemu.conf",
    );
    assert.equal(qemuConfPath("qemu+tcp://node2/system", env), undefined);
    assert.equal(qemuConfPath("test:///default", env), undefined);
    assert.equal(qemuConfPath("xen:///system", env), undefined);
  });
  it("reads lock_manager: comments, quotes, last one wins; only lockd and sanlock protect", () => {
    assert.equal(
      confString('# lock_manager = "lockd"\nuser = "root"\n', "lock_manager"),
      undefined,
    );
    assert.equal(
      confString("lock_manager = 'sanlock'  # shared storage\n", "lock_manager"),
      "sanlock",
    );
    assert.equal(
      confString('lock_manager = "lockd"\nlock_manager = "nop"\n', "lock_manager"),
      "nop",
    );
    assert.equal(diskLockManager('  lock_manager="lockd"\n'), "lockd");
    assert.equal(diskLockManager('lock_manager = "sanlock"'), "sanlock");
    assert.equal(diskLockManager('lock_manager = "nop"'), undefined);
    assert.equal(diskLockManager(""), undefined);
  });
});

describe("backingfile", () => {
  it("names the image after the config file, up to the first dot of its name (not of the directory)", () => {
    assert.equal(overlayImage("/etc/vm/db1.xml"), "/etc/vm/db1.qcow2");
    assert.equal(overlayImage("/srv/vm.d/db1.domain.xml"), "/srv/vm.d/db1.qcow2");
    assert.equal(overlayImage("/srv/vm/db1"), "/srv/vm/db1.qcow2");
  });
  it("reads the backing file's format from qemu-img info", () => {
    assert.equal(imageFormat('{"format": "raw", "virtual-size": 1}'), "raw");
    assert.equal(imageFormat('{"format": "qcow2"}'), "qcow2");
    assert.equal(imageFormat('{"format": "raw; rm -rf"}'), undefined);
    assert.equal(imageFormat("garbage"), undefined);
  });
});
