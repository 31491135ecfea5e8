/**
 * The ComputerSystem a fence agent acts on: found once per run (one GET of the Systems collection
 * when systems_uri is not given), its power state read fresh on every call, its reset action and
 * the ResetType values it takes remembered from the first read (a second GET would tell nothing
 * new within one run), and a reset sent, followed through a task when the BMC answers 202.
 */
import { type Deadline, sleep } from "../deadline.js";
import { formatSeconds } from "../ipmi/errors.js";
import { type RedfishClient, isSuccess } from "./client.js";
import type { Log } from "./connection.js";
import { RedfishAuthError, RedfishTaskError, RedfishTimeoutError } from "./errors.js";
import {
  type PowerReading,
  type ResetAction,
  type ResetIntent,
  allowableFromActionInfo,
  chooseSystem,
  isObject,
  isStateConflict,
  isValueNotAllowed,
  memberUris,
  pathOf,
  powerStateOf,
  resetActionOf,
  resetTypesFor,
  retryAfterMs,
  systemsPath,
  taskProgress,
} from "./resources.js";

/** The state a reset is for. */
export type PowerTarget = "on" | "off";

/** Task monitors are polled from this interval, doubling up to the cap (or as Retry-After says). */
const TASK_POLL_FIRST_MS = 100;
const TASK_POLL_MAX_MS = 1000;

export class RedfishSystem {
  private uri: string | undefined;
  private action: ResetAction | undefined;
  /** The ResetType values, once known: from the action, or its ActionInfo (null: none found). */
  private allowable: readonly string[] | null | undefined;

  constructor(
    private readonly client: RedfishClient,
    private readonly root: string,
    given: string | undefined,
    private readonly log: Log,
  ) {
    this.uri = given;
  }

  /** The system's URI: systems_uri, or the one member of the Systems collection. */
  async systemUri(): Promise<string> {
    if (this.uri !== undefined) return this.uri;
    const collection = systemsPath(this.root);
    const answer = await this.client.send("GET", collection);
    let members: string[];
    if (answer.status === 404) {
      // Not at its usual place: follow the service root's link (two round trips, once).
      const root = await this.client.get(this.root);
      const link = isObject(root.Systems) ? root.Systems["@odata.id"] : undefined;
      if (typeof link !== "string") throw this.client.failure("GET", collection, answer);
      const path = pathOf(link);
      members = memberUris(await this.client.get(path), `GET ${path}`);
    } else if (isSuccess(answer.status)) {
      members = memberUris(answer.json, `GET ${collection}`);
    } else {
      throw this.client.failure("GET", collection, answer);
    }
    this.uri = chooseSystem(members, collection);
    this.log(`system: ${this.uri}`);
    return this.uri;
  }

  /** The power state, read now. */
  async read(): Promise<PowerReading> {
    const uri = await this.systemUri();
    const system = await this.client.get(uri);
    const reading = powerStateOf(system, `GET ${uri}`);
    if (this.action === undefined) {
      try {
        this.action = resetActionOf(system, `GET ${uri}`);
      } catch {
        // Only a reset needs it; a status must not fail for its absence.
      }
    }
    if (reading.state === "unknown") this.log(`PowerState is ${reading.raw ?? "missing"}`);
    return reading;
  }

  /**
   * Sends the reset for `intent` and returns the ResetType sent. A 202 is followed through its
   * task monitor until the task is done, or, for on and off (`target`), until the power state is
   * there; a task that fails fails the reset, and one still running at `budget` too (for on and
   * off: the wait is the power_timeout, not twice it). A refusal for the system's state (iDRAC's
   * 409 "already powered ON", iLO's InvalidOperationForSystemState: the state changed under us,
   * or a retried power on) is not a failure: the state read back decides.
   */
  async reset(
    intent: ResetIntent,
    target: PowerTarget | undefined,
    budget: Deadline,
  ): Promise<string> {
    const uri = await this.systemUri();
    const action = this.action ?? resetActionOf(await this.client.get(uri), `GET ${uri}`);
    this.action = action;
    const allowable = await this.allowableValues(action);
    const types = resetTypesFor(intent, allowable);
    for (const [i, type] of types.entries()) {
      const answer = await this.client.send("POST", action.target, { ResetType: type });
      if (answer.status === 202) {
        await this.followTask(answer.headers, answer.json, type, target, budget);
        return type;
      }
      if (isSuccess(answer.status)) {
        this.log(`${type} accepted (${answer.status})`);
        return type;
      }
      const failure = this.client.failure("POST", action.target, answer, `ResetType ${type}`);
      // Only on and off are read back; a refused restart or NMI is a failure.
      if (target !== undefined && isStateConflict(answer.status, failure.messageIds)) {
        this.log(`${failure.message}; the state read back decides`);
        return type;
      }
      if (
        allowable === undefined &&
        i < types.length - 1 &&
        isValueNotAllowed(answer.status, failure.messageIds)
      ) {
        this.log(`${type} refused as not allowed: trying ${types[i + 1]}`);
        continue;
      }
      if (answer.status === 403)
        throw new RedfishAuthError(
          `${failure.message} (the account may read but not reset: it needs the ConfigureComponents privilege, as Operator and Administrator have)`,
        );
      throw failure;
    }
    // Unreachable: the loop returns or throws on its last candidate.
    throw new RedfishTaskError(`no ResetType could be sent for ${intent}`);
  }

  private async allowableValues(action: ResetAction): Promise<readonly string[] | undefined> {
    if (action.allowable !== undefined) return action.allowable;
    if (this.allowable !== undefined) return this.allowable ?? undefined;
    this.allowable = null;
    if (action.actionInfo !== undefined) {
      try {
        this.allowable = allowableFromActionInfo(await this.client.get(action.actionInfo)) ?? null;
      } catch (err) {
        if (err instanceof RedfishAuthError) throw err;
        this.log(`ActionInfo ${action.actionInfo} not readable: ${(err as Error).message}`);
      }
    }
    return this.allowable ?? undefined;
  }

  private async followTask(
    headers: ReadonlyMap<string, string>,
    body: unknown,
    type: string,
    target: PowerTarget | undefined,
    budget: Deadline,
  ): Promise<void> {
    const location = headers.get("location");
    const taskId =
      isObject(body) && typeof body["@odata.id"] === "string" && "TaskState" in body
        ? body["@odata.id"]
        : undefined;
    const monitor =
      location !== undefined && location !== ""
        ? pathOf(location)
        : taskId === undefined
          ? undefined
          : pathOf(taskId);
    let progress = taskProgress(202, body);
    if (progress.kind === "failed")
      throw new RedfishTaskError(
        `the BMC's task for ${type} failed: ${this.client.quote(progress.why)}`,
      );
    if (monitor === undefined) {
      this.log(`${type} accepted (202) without a task monitor; the state read back decides`);
      return;
    }
    this.log(`${type} accepted (202); following ${monitor}`);
    let pauseMs = retryAfterMs(headers.get("retry-after"), TASK_POLL_MAX_MS) ?? TASK_POLL_FIRST_MS;
    const started = Date.now();
    for (;;) {
      if (budget.expired()) {
        if (target === undefined) {
          this.log(`the task for ${type} is still running; not waiting longer`);
          return;
        }
        throw new RedfishTimeoutError(
          `the BMC's task for ${type} was still running after ${formatSeconds(Date.now() - started)} and the power is not ${target} yet`,
        );
      }
      await sleep(pauseMs, budget);
      const poll = await this.client.send("GET", monitor);
      progress = taskProgress(poll.status, poll.json);
      if (progress.kind === "done") {
        this.log(`the task for ${type} is done (${poll.status})`);
        return;
      }
      if (progress.kind === "failed")
        throw new RedfishTaskError(
          `the BMC's task for ${type} failed: ${this.client.quote(progress.why)}`,
        );
      // Still running: the power may be there already (some BMCs finish their task later).
      if (target !== undefined && (await this.read()).state === target) return;
      pauseMs = Math.min(
        retryAfterMs(poll.headers.get("retry-after"), TASK_POLL_MAX_MS) ?? pauseMs * 2,
        TASK_POLL_MAX_MS,
      );
    }
  }
}
