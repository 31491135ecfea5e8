/**
 * What the Redfish resources a fence agent reads mean, pure: JSON in, decisions out. Which system
 * to fence, its power state, which ResetType to send for an intent, what a task monitor's answer
 * says, what an error body says. No I/O here; client.ts and system.ts do the asking.
 *
 * Redfish terms (DSP0266, the ComputerSystem schema): a service root (/redfish/v1) links the
 * Systems collection, whose Members are ComputerSystem resources; each has a PowerState and the
 * action #ComputerSystem.Reset with a target URI and the ResetType values it takes, listed inline
 * (ResetType@Redfish.AllowableValues) or in an ActionInfo resource (@Redfish.ActionInfo).
 */
import { RedfishCapabilityError, RedfishProtocolError } from "./errors.js";

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A response body as JSON; `what` names it in the error ("GET /redfish/v1/Systems"). */
export function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString("utf8")) as unknown;
  } catch {
    throw new RedfishProtocolError(`${what}: the BMC's answer is not JSON`);
  }
}

/** A JSON object, or a protocol error naming what it should have been. */
export function objectOf(value: unknown, what: string): JsonObject {
  if (!isObject(value))
    throw new RedfishProtocolError(`${what}: the BMC's answer is not an object`);
  return value;
}

/** The service root path: a leading slash, no trailing one ("/redfish/v1/" → "/redfish/v1"). */
export function normaliseRoot(uri: string): string {
  const trimmed = uri.trim().replace(/\/+$/, "");
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

/** Where the Systems collection and the sessions live (fixed URIs in the Redfish specification). */
export function systemsPath(root: string): string {
  return `${root}/Systems`;
}
export function sessionsPath(root: string): string {
  return `${root}/SessionService/Sessions`;
}

/** A URI as a request target: an absolute URL (some iLO firmware sends them) becomes its path. */
export function pathOf(uri: string): string {
  if (/^https?:\/\//i.test(uri)) {
    try {
      const url = new URL(uri);
      return `${url.pathname}${url.search}`;
    } catch {
      return uri;
    }
  }
  return uri;
}

/** Two URIs name the same resource (a trailing slash is not a difference: iLO adds one). */
export function sameUri(a: string, b: string): boolean {
  return pathOf(a).replace(/\/+$/, "") === pathOf(b).replace(/\/+$/, "");
}

/** The @odata.id of every member of a collection. */
export function memberUris(collection: unknown, what: string): string[] {
  const members = objectOf(collection, what).Members;
  if (!Array.isArray(members)) throw new RedfishProtocolError(`${what}: no Members list`);
  const uris: string[] = [];
  for (const member of members) {
    const id = isObject(member) ? member["@odata.id"] : undefined;
    if (typeof id !== "string" || id === "")
      throw new RedfishProtocolError(`${what}: a member without @odata.id`);
    uris.push(pathOf(id));
  }
  return uris;
}

/**
 * The one system this BMC manages. fence-agents' agent takes the last member whatever their
 * number; with several (a multi-node chassis: HPE Cray EX blades list Node0 and Node1) that may
 * be another node than the one to fence, so more than one member asks for systems_uri.
 */
export function chooseSystem(members: readonly string[], collection: string): string {
  if (members.length === 1) return members[0] as string;
  if (members.length === 0)
    throw new RedfishCapabilityError(`the BMC lists no system in ${collection}`);
  const shown = members.slice(0, 6).join(", ");
  throw new RedfishCapabilityError(
    `the BMC manages ${members.length} systems (${shown}${members.length > 6 ? ", …" : ""}): set systems_uri to the one to fence`,
  );
}

/** A power state as read (the fence framework's PowerState: anything but on or off is unknown). */
export type PowerState = "on" | "off" | "unknown";

export interface PowerReading {
  readonly state: PowerState;
  /** PowerState as the BMC wrote it (for messages), or undefined when it is missing. */
  readonly raw: string | undefined;
}

/**
 * A ComputerSystem's PowerState: "On" is on and "Off" is off; PoweringOn, PoweringOff, Paused, null
 * or anything else is unknown, never off (fence-agents' agent reads anything but "Off" as on).
 * A resource without the property at all is not a ComputerSystem: that is an error.
 */
export function powerStateOf(system: unknown, what: string): PowerReading {
  const resource = objectOf(system, what);
  if (!("PowerState" in resource))
    throw new RedfishProtocolError(`${what}: the resource has no PowerState`);
  const raw = resource.PowerState;
  if (typeof raw !== "string") return { state: "unknown", raw: raw === null ? "null" : undefined };
  const word = raw.trim().toLowerCase();
  return { state: word === "on" ? "on" : word === "off" ? "off" : "unknown", raw };
}

export interface ResetAction {
  /** Where to POST {"ResetType": …}. */
  readonly target: string;
  /** The ResetType values listed inline, if any. */
  readonly allowable: readonly string[] | undefined;
  /** The ActionInfo resource listing them instead, if any. */
  readonly actionInfo: string | undefined;
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter((v): v is string => typeof v === "string");
}

/** The system's #ComputerSystem.Reset action. */
export function resetActionOf(system: unknown, what: string): ResetAction {
  const actions = objectOf(system, what).Actions;
  const reset = isObject(actions) ? actions["#ComputerSystem.Reset"] : undefined;
  if (!isObject(reset) || typeof reset.target !== "string" || reset.target === "")
    throw new RedfishCapabilityError(`${what}: the system offers no #ComputerSystem.Reset action`);
  const info = reset["@Redfish.ActionInfo"];
  return {
    target: pathOf(reset.target),
    allowable: stringList(reset["ResetType@Redfish.AllowableValues"]),
    actionInfo: typeof info === "string" && info !== "" ? pathOf(info) : undefined,
  };
}

/** The ResetType values an ActionInfo resource lists, if it lists them. */
export function allowableFromActionInfo(info: unknown): string[] | undefined {
  if (!isObject(info) || !Array.isArray(info.Parameters)) return undefined;
  for (const parameter of info.Parameters) {
    if (isObject(parameter) && parameter.Name === "ResetType")
      return stringList(parameter.AllowableValues);
  }
  return undefined;
}

/** What a reset is for. */
export type ResetIntent = "on" | "off" | "cycle" | "diag";

/**
 * The ResetType values that do what an intent needs, best first. Off is ForceOff and nothing else:
 * GracefulShutdown and PushPowerButton ask the operating system to shut down, which a hung node
 * ignores and a running one takes its time over, so they do not fence; without ForceOff the action
 * fails at once and the next fencing level acts. On falls back to ForceOn (firmware that offers
 * only that); the BMC's own restart falls back from ForceRestart to PowerCycle (iDRAC 8 has no
 * ForceRestart). PushPowerButton is never used: it toggles, so it could undo what it meant to do.
 */
export const RESET_TYPES: Readonly<Record<ResetIntent, readonly string[]>> = {
  on: ["On", "ForceOn"],
  off: ["ForceOff"],
  cycle: ["ForceRestart", "PowerCycle"],
  diag: ["Nmi"],
};

const INTENT_WORDS: Readonly<Record<ResetIntent, string>> = {
  on: "power on",
  off: "force the power off",
  cycle: "restart the system",
  diag: "send a diagnostic interrupt",
};

/**
 * The ResetType values to try for `intent`, in order. With the BMC's list known, only values in it
 * (matched without regard to case, sent as the BMC spells them); with no list, every candidate, the
 * next one tried only if the BMC refuses the previous as not allowed.
 */
export function resetTypesFor(
  intent: ResetIntent,
  allowable: readonly string[] | undefined,
): string[] {
  const candidates = RESET_TYPES[intent];
  if (allowable === undefined) return [...candidates];
  const chosen: string[] = [];
  for (const candidate of candidates) {
    const offered = allowable.find((v) => v.toLowerCase() === candidate.toLowerCase());
    if (offered !== undefined) chosen.push(offered);
  }
  if (chosen.length === 0)
    throw new RedfishCapabilityError(
      `the BMC cannot ${INTENT_WORDS[intent]}: its reset action offers ${allowable.length === 0 ? "no ResetType" : allowable.join(", ")}, none of ${candidates.join(", ")}`,
    );
  return chosen;
}

export interface RedfishMessage {
  /** One line: the error's message and its extended messages. */
  readonly text: string;
  readonly messageIds: readonly string[];
}

/**
 * The text of a Redfish error body ({"error": {"message", "@Message.ExtendedInfo": [...]}}): the
 * extended messages, else their MessageIds, else the error's own message.
 */
export function errorMessageOf(body: unknown): RedfishMessage {
  const error = isObject(body) ? body.error : undefined;
  const source = isObject(error) ? error : isObject(body) ? body : {};
  const parts: string[] = [];
  const ids: string[] = [];
  const extended = source["@Message.ExtendedInfo"];
  if (Array.isArray(extended)) {
    for (const info of extended) {
      if (!isObject(info)) continue;
      if (typeof info.MessageId === "string" && info.MessageId !== "") ids.push(info.MessageId);
      if (typeof info.Message === "string" && info.Message.trim() !== "")
        parts.push(info.Message.trim());
    }
  }
  // An id says more than a message that only points at the (message-less) extended info.
  if (parts.length === 0 && ids.length > 0) parts.push(ids.join(", "));
  if (parts.length === 0 && typeof source.message === "string" && source.message.trim() !== "")
    parts.push(source.message.trim());
  return { text: [...new Set(parts)].join("; "), messageIds: ids };
}

const VALUE_NOT_ALLOWED = [
  "ActionParameterValueNotInList",
  "ActionParameterValueError",
  "ActionParameterValueFormatError",
  "ActionParameterNotSupported",
  "PropertyValueNotInList",
  "PropertyValueError",
];

/** Did the BMC refuse a ResetType as not one it takes (so that the next candidate may be tried)? */
export function isValueNotAllowed(status: number, messageIds: readonly string[]): boolean {
  if (status !== 400) return false;
  return messageIds.some((id) => VALUE_NOT_ALLOWED.some((name) => id.endsWith(`.${name}`)));
}

/**
 * Did the BMC refuse a reset because of the state the system is in (iDRAC: 409 "Server is already
 * powered ON", PSU501/PSU502; iLO: 400 InvalidOperationForSystemState)? Then the state read back
 * decides: a reset into the state the system is already in (or is going to) is no failure.
 */
export function isStateConflict(status: number, messageIds: readonly string[]): boolean {
  if (status === 409) return true;
  return status === 400 && messageIds.some((id) => id.endsWith(".InvalidOperationForSystemState"));
}

export type TaskProgress =
  | { readonly kind: "running" }
  | { readonly kind: "done" }
  | { readonly kind: "failed"; readonly why: string };

const TASK_FAILED = new Set(["Exception", "Killed", "Cancelled", "Interrupted"]);
const TASK_RUNNING = new Set([
  "New",
  "Starting",
  "Running",
  "Pending",
  "Suspended",
  "Stopping",
  "Service",
  "Cancelling",
]);

/**
 * What a task monitor's (or a Task resource's) answer says. DSP0266: the monitor answers 202
 * while the task runs and, once it is done, the operation's own response; a Task resource tells by
 * its TaskState. A monitor gone (404) after the task finished is done too: what proves the action
 * is the power state read back afterwards, never the task.
 */
export function taskProgress(status: number, body: unknown): TaskProgress {
  const task = isObject(body) ? body : undefined;
  const state = typeof task?.TaskState === "string" ? task.TaskState : undefined;
  const why = (): string => {
    const text = errorMessageOf({ "@Message.ExtendedInfo": task?.Messages }).text;
    return [`TaskState ${state ?? "?"}`, text].filter((s) => s !== "").join(": ");
  };
  if (state !== undefined && TASK_FAILED.has(state)) return { kind: "failed", why: why() };
  if (status === 202) return { kind: "running" };
  if (status >= 200 && status < 300) {
    if (state !== undefined && TASK_RUNNING.has(state)) return { kind: "running" };
    return { kind: "done" };
  }
  if (status === 404 || status === 410) return { kind: "done" };
  const error = errorMessageOf(body).text;
  return { kind: "failed", why: `the task monitor answered ${status}${error ? `: ${error}` : ""}` };
}

/** Seconds to wait from a Retry-After header (delta seconds only), capped; undefined if absent. */
export function retryAfterMs(value: string | undefined, capMs: number): number | undefined {
  if (value === undefined || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Math.min(Number(value.trim()) * 1000, capMs);
}

/**
 * Text from the BMC made fit for a one-line message: control characters out, at most `max`
 * characters, and withheld entirely if it contains any of `secrets` (a BMC may echo what it was
 * sent; cutting the secret out would still leave its neighbourhood, so none of it is shown).
 */
export function quoteBmcText(text: string, secrets: readonly string[], max = 200): string {
  for (const secret of secrets) {
    if (secret.length > 0 && text.includes(secret))
      return "(the BMC's message is withheld: it repeats a secret)";
  }
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
