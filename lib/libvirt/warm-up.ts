/**
 * The snapshot warm-up of VirtualDomain's monitor path below the agent: `virsh domstate --reason`
 * answers and errors as virsh prints them, the HA_RSCTMP record with a cached parse, the
 * utilization decision, the RPC messages of a state asked over libvirtd's socket. All pure, on
 * made-up values: no files, no sockets, no processes, no clock. Called while
 * the startup snapshot is built (lib/cli/main.ts `preloadShippedCommands`), so the executable
 * starts with this code compiled.
 */
import {
  cachedConfig,
  decodeDomainRecord,
  encodeDomainRecord,
  fileIdentity,
} from "./domain-record.js";
import type { DomainXmlInfo } from "./domain-xml.js";
import { isConnectionFailure, isNotFound, isNotRunning, parseDomstate } from "./state.js";
import {
  UTILIZATION_ATTRS,
  parseUtilizationRecord,
  utilizationOps,
  utilizationValues,
} from "./utilization.js";
import { type VirshResult, virshMessage } from "./virsh.js";
import { localEndpoint } from "./remote.js";
import {
  Proc,
  XdrWriter,
  connectOpenArgs,
  decodeAuthList,
  decodeDomain,
  decodeError,
  decodeState,
  domstateLine,
  encodeCall,
  encodeReply,
  getStateArgs,
  lookupByNameArgs,
  takeMessages,
} from "./rpc.js";

export function exerciseLibvirtMonitorPath(): void {
  for (const out of [
    "running (booted)\n",
    "paused (ioerror)\n",
    "shut off (destroyed)\n",
    "no state\n",
  ])
    parseDomstate(out);
  const failed: VirshResult = {
    args: ["--quiet", "domstate", "--reason", "warm-up"],
    code: 1,
    stdout: "",
    stderr:
      "error: failed to get domain 'warm-up'\nerror: Domain not found: no domain with matching name 'warm-up'\n",
    signal: undefined,
    timedOut: false,
    started: true,
    spawnError: undefined,
    overflow: false,
    ms: 1,
  };
  const message = virshMessage(failed);
  isNotFound(message);
  isConnectionFailure(message);
  isNotRunning(message);
  const xml: DomainXmlInfo = {
    name: "warm-up",
    uuid: undefined,
    type: "kvm",
    emulator: undefined,
    vcpus: 1,
    memoryKib: 131072,
    pools: [],
    networks: [],
  };
  const file = fileIdentity({ dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs: 5n });
  const record = decodeDomainRecord(
    encodeDomainRecord({
      name: xml.name,
      uuid: xml.uuid,
      type: xml.type,
      config: "/warm-up.xml",
      file,
      xml,
    }),
  );
  cachedConfig(record, "/warm-up.xml", file);
  const on = Object.fromEntries(UTILIZATION_ATTRS.map((a) => [a, true])) as Record<
    (typeof UTILIZATION_ATTRS)[number],
    boolean
  >;
  const off = Object.fromEntries(UTILIZATION_ATTRS.map((a) => [a, false])) as Record<
    (typeof UTILIZATION_ATTRS)[number],
    boolean
  >;
  utilizationOps(
    { autoset: on, unset: off },
    utilizationValues(xml.vcpus, xml.memoryKib),
    parseUtilizationRecord('{"values":{"cpu":"1","hv_memory":"128","host_memory":"128"}}\n'),
  );
  exerciseRpc();
}

/** The calls and replies of one state query, as remote.ts makes and reads them. */
function exerciseRpc(): void {
  const endpoint = localEndpoint("qemu+unix:///system?socket=/warm-up/libvirt-sock", {
    exists: () => false,
    clientConf: () => "",
    euid: 0,
  });
  const dom = new XdrWriter().string("warm-up").fixedOpaque(Buffer.alloc(16)).int(1).bytes();
  const stream = Buffer.concat([
    encodeReply(Proc.AUTH_LIST, 0, new XdrWriter().uint(1).int(0).bytes()),
    encodeReply(Proc.CONNECT_OPEN, 1, Buffer.alloc(0)),
    encodeReply(Proc.DOMAIN_LOOKUP_BY_NAME, 2, dom),
    encodeReply(Proc.DOMAIN_GET_STATE, 3, new XdrWriter().int(1).int(1).bytes()),
  ]);
  const { messages } = takeMessages(stream);
  encodeCall(Proc.AUTH_LIST, 0);
  encodeCall(Proc.CONNECT_OPEN, 1, connectOpenArgs(endpoint?.name ?? "qemu:///system"));
  encodeCall(Proc.DOMAIN_LOOKUP_BY_NAME, 2, lookupByNameArgs("warm-up"));
  decodeAuthList(messages[0]!.body);
  const d = decodeDomain(messages[2]!.body);
  encodeCall(Proc.DOMAIN_GET_STATE, 3, getStateArgs(d));
  const st = decodeState(messages[3]!.body);
  parseDomstate(domstateLine(st.state, st.reason));
  decodeError(new XdrWriter().int(42).int(10).optionalString("Domain not found").bytes());
}
