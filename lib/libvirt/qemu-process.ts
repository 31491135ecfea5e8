/**
 * Is a QEMU process for a domain running? The last resort of a resource agent when libvirtd cannot
 * be asked, for QEMU domains only (as the reference agent's pid_status): QEMU's argv holds
 * `-name guest=NAME,…`. Reads /proc (or a tree laid out like it, for tests).
 */
// fs.promises is read at each use, not imported from node:fs/promises (startup snapshot, docs/build.md).
import { promises as fs } from "node:fs";
import { join } from "node:path";

/** Whether any process under `procDir` is a QEMU of guest `name`. */
export async function qemuProcessRunning(name: string, procDir = "/proc"): Promise<boolean> {
  let pids: string[];
  try {
    pids = (await fs.readdir(procDir)).filter((e) => /^\d+$/.test(e));
  } catch {
    return false;
  }
  for (const pid of pids) {
    let argv: string[];
    try {
      argv = (await fs.readFile(join(procDir, pid, "cmdline"), "latin1")).split("\0");
    } catch {
      continue;
    }
    const exe = (argv[0] ?? "").split("/").pop() ?? "";
    if (!/^(qemu-system-.*|qemu-kvm|kvm|qemu-dm)$/.test(exe)) continue;
    for (let i = 1; i + 1 < argv.length; i++) {
      if (argv[i] !== "-name") continue;
      if (qemuNameArg(argv[i + 1] ?? "") === name) return true;
    }
  }
  return false;
}

/** The guest name in QEMU's `-name` value: `guest=NAME,debug-threads=on` or `NAME` (`,,` is a comma). */
export function qemuNameArg(value: string): string {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === "," && value[i + 1] === ",") {
      cur += ",";
      i++;
    } else if (ch === ",") {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  const guest = parts.find((x) => x.startsWith("guest="));
  if (guest !== undefined) return guest.slice("guest=".length);
  return parts[0]?.includes("=") === true ? "" : (parts[0] ?? "");
}
