/**
 * What VirtualDomain's validate-all needs from libvirt's QEMU driver configuration: which
 * qemu.conf a local connection URI uses, and its lock_manager (virtlockd "lockd", "sanlock", or
 * none: nothing stops a second node from starting the same guest on the same disks). Pure.
 */

export interface LibvirtUri {
  /** `qemu`, `test`, `xen`, … */
  readonly driver: string;
  /** `unix`, `tcp`, `ssh`, `tls`, … or undefined */
  readonly transport: string | undefined;
  /** The host part; "" for a local connection. */
  readonly host: string;
  /** `/system`, `/session`, `/default`, … */
  readonly path: string;
}

export function parseLibvirtUri(uri: string): LibvirtUri | undefined {
  const m = /^([A-Za-z][A-Za-z0-9.-]*)(?:\+([A-Za-z0-9-]+))?:\/\/([^/?]*)(\/[^?]*)?(?:\?.*)?$/.exec(
    uri.trim(),
  );
  if (m === null) return undefined;
  return {
    driver: (m[1] ?? "").toLowerCase(),
    transport: m[2]?.toLowerCase(),
    host: m[3] ?? "",
    path: m[4] ?? "/",
  };
}

/**
 * The qemu.conf a QEMU-driver URI's daemon reads, when it runs on this node: /etc/libvirt/qemu.conf
 * for `qemu:///system`, `$XDG_CONFIG_HOME/libvirt/qemu.conf` (default ~/.config) for `/session`.
 * undefined: not the QEMU driver, or a remote host (its configuration is not ours to read).
 */
export function qemuConfPath(
  uri: string,
  env: { HOME?: string | undefined; XDG_CONFIG_HOME?: string | undefined },
): string | undefined {
  const u = parseLibvirtUri(uri);
  if (u === undefined || u.driver !== "qemu") return undefined;
  const local =
    u.host === "" || u.host === "localhost" || u.host === "127.0.0.1" || u.host === "[::1]";
  if (!local) return undefined;
  if (u.path.startsWith("/session")) {
    const base =
      env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ""
        ? env.XDG_CONFIG_HOME
        : env.HOME === undefined
          ? undefined
          : `${env.HOME}/.config`;
    return base === undefined ? undefined : `${base}/libvirt/qemu.conf`;
  }
  return "/etc/libvirt/qemu.conf";
}

/**
 * A libvirt configuration file's string setting (`name = "value"`, `'value'`; `#` comments), the
 * last one winning as in libvirt's parser; undefined when unset.
 */
export function confString(text: string, name: string): string | undefined {
  let value: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z0-9_]+)\s*=\s*(?:"([^"]*)"|'([^']*)')\s*(?:#.*)?$/.exec(line);
    if (m !== null && m[1] === name) value = m[2] ?? m[3] ?? "";
  }
  return value;
}

/** Lock managers that protect a guest's disks across hosts. */
export const PROTECTING_LOCK_MANAGERS: ReadonlySet<string> = new Set(["lockd", "sanlock"]);

/** qemu.conf's lock_manager when it names one that protects disks, else undefined ("nop" or unset). */
export function diskLockManager(qemuConf: string): string | undefined {
  const v = confString(qemuConf, "lock_manager")?.trim();
  return v !== undefined && PROTECTING_LOCK_MANAGERS.has(v) ? v : undefined;
}
