/**
 * The BMC's address and the trust in its certificate, from option text, pure: fence-agents'
 * `ip` forms and the SHA-256 fingerprints of ssl_fingerprint.
 */
import { isIP } from "node:net";
import type { Endpoint } from "./connection.js";

/**
 * `ip` as fence-agents' fence_redfish reads it: "host", "host:port" (its port wins over ipport,
 * for compatibility), "[v6]" or "[v6]:port"; a bare IPv6 address (several colons) is a host.
 * Returns undefined for a form that cannot be right (an empty host, a port out of range).
 */
export function endpointOf(ip: string, ipport: number): Endpoint | undefined {
  const text = ip.trim();
  let host = text;
  let port = ipport;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1] as string;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (text.split(":").length === 2) {
    const [h, p] = text.split(":") as [string, string];
    if (!/^\d+$/.test(p)) return undefined;
    host = h;
    port = Number(p);
  }
  if (host === "" || /[\s/@]/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535)
    return undefined;
  if (host.includes(":") && isIP(host) !== 6) return undefined;
  return { host, port };
}

/**
 * ssl_fingerprint: one or more SHA-256 fingerprints, separated by commas or spaces, each as
 * `openssl x509 -noout -fingerprint -sha256` prints it ("sha256 Fingerprint=AB:CD:…"), with or
 * without colons, any case, optionally prefixed "sha256:" or "SHA256=". Undefined if any is not
 * 32 bytes of hexadecimal.
 */
export function parseFingerprints(text: string): Buffer[] | undefined {
  const items = text
    .replace(/sha-?256\s+fingerprint\s*=/gi, " ")
    .split(/[,\s]+/)
    .filter((s) => s !== "");
  if (items.length === 0) return undefined;
  const digests: Buffer[] = [];
  for (const item of items) {
    const hex = item
      .replace(/^sha-?256[:=]/i, "")
      .replace(/:/g, "")
      .toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
    digests.push(Buffer.from(hex, "hex"));
  }
  return digests;
}
