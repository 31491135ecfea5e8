/**
 * VirtualDomain's backingfile mode (the reference's copy-on-write images): where the guest's qcow2
 * image goes, and the backing file's format as qemu-img reports it. Pure.
 */
import { basename, dirname, join } from "node:path";

/** backingfile's image: the config file's directory and name up to its first dot, `.qcow2`. */
export function overlayImage(config: string): string {
  const base = basename(config);
  const dot = base.indexOf(".");
  return join(dirname(config), `${dot <= 0 ? base : base.slice(0, dot)}.qcow2`);
}

/** The disk image format `qemu-img info --output=json` reports, or undefined. */
export function imageFormat(json: string): string | undefined {
  try {
    const f = (JSON.parse(json) as { format?: unknown }).format;
    return typeof f === "string" && /^[a-z0-9_-]+$/.test(f) ? f : undefined;
  } catch {
    return undefined;
  }
}
