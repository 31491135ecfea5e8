// The PDU lab's external programs, found the way bins.ts finds the IPMI
// lab's: a missing one is an error naming its Debian package, never a skip.

import { findProgram } from './bins.js';

/** Debian package that provides each program the PDU lab runs. */
export const PDU_LAB_PROGRAMS = {
  snmpd: 'snmpd',
  snmpget: 'snmp',
  snmpset: 'snmp',
  snmpwalk: 'snmp',
  fence_apc_snmp: 'fence-agents',
} as const;

export type PduLabProgram = keyof typeof PDU_LAB_PROGRAMS;

/** Absolute path of a PDU lab program; throws a clear error when it is missing. */
export function requirePduProgram(name: PduLabProgram): string {
  const found = findProgram(name);
  if (found) return found;
  throw new Error(
    `lab program '${name}' is not installed (Debian package '${PDU_LAB_PROGRAMS[name]}'); ` +
      'run scripts/lab-deps.sh to install the lab dependencies',
  );
}
