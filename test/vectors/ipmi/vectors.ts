/**
 * The captured IPMI exchanges (ipmitool 1.8.19 vs ipmi_sim 2.0.33), as make-vectors.mjs wrote
 * them into the JSON files next to this module: each packet's bytes and what was decoded from it.
 */
import { readFileSync } from 'node:fs';

export interface VectorPacket {
  dir: 'rc->bmc' | 'bmc->rc';
  hex: string;
  hmac?: string;
  hmacValid?: boolean;
  icv?: string;
  icvValid?: boolean;
  sik?: string;
  k1?: string;
  k2?: string;
  authCode?: string;
  authCodeValid?: boolean;
  iv?: string;
  plaintextPadded?: string;
  sessionSeq?: number;
  openSessionStatus?: number;
}

export interface Vector {
  username: string;
  password: string;
  bmcGuid: string;
  packets: VectorPacket[];
}

/** `name` is the file name without `.json`, e.g. "rmcpplus_C3_chassis_status". */
export function loadVector(name: string): Vector {
  return JSON.parse(readFileSync(new URL(`${name}.json`, import.meta.url), 'utf8')) as Vector;
}
