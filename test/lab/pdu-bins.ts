// The PDU lab's programs are in bins.ts's one table; this name stays for
// callers outside the lab (pacemaker-tools.test.ts, bench/fence-pdu.ts).

export { requireProgram as requirePduProgram } from "./bins.js";
