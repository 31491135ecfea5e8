/**
 * A logged-in Redfish client: the connection (connection.ts), authentication, and requests that
 * carry it. Authentication is a Redfish session (POST to the session collection, then the
 * X-Auth-Token header; the session is deleted at the end) or HTTP Basic on every request, as
 * fence-agents' fence_redfish does. With auth "session", a BMC that offers no session (404, 405,
 * 501, sessions exhausted, ...) is spoken to with Basic; only a refusal of the credentials (401,
 * 403) fails the login. A session the BMC ends early (401 later on) is opened again, twice at most.
 */
import { Deadline } from "../deadline.js";
import { formatSeconds } from "../ipmi/errors.js";
import {
  type Endpoint,
  HttpsConnection,
  type Log,
  type TlsConnector,
  type Trust,
  hostPort,
} from "./connection.js";
import { RedfishAuthError, RedfishHttpError, RedfishProtocolError } from "./errors.js";
import type { HttpResponse, Method } from "./http.js";
import {
  type JsonObject,
  errorMessageOf,
  isObject,
  objectOf,
  parseJson,
  pathOf,
  quoteBmcText,
  sessionsPath,
} from "./resources.js";

export type AuthMode = "session" | "basic";

export interface RedfishTarget {
  readonly endpoint: Endpoint;
  readonly trust: Trust;
  readonly username: string;
  readonly password: string;
  readonly auth: AuthMode;
  /** The service root, e.g. "/redfish/v1". */
  readonly root: string;
}

export interface RedfishLimits {
  /** By when the connection and the login must be done (login_timeout). */
  readonly loginDeadline: Deadline;
  /** Longest wait for one answer. */
  readonly requestTimeoutMs: number;
}

export interface RedfishAnswer {
  readonly status: number;
  readonly reason: string;
  readonly headers: ReadonlyMap<string, string>;
  /** The body as JSON; undefined when it is empty or not JSON. */
  readonly json: unknown;
  /** Whether the body was there but not JSON. */
  readonly notJson: boolean;
}

const MAX_RELOGINS = 2;
/** The session is deleted at the end within this (or the request timeout, if shorter). */
const LOGOUT_TIMEOUT_MS = 3000;

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

export class RedfishClient {
  private readonly connection: HttpsConnection;
  /** Set while a session is open. */
  private token: string | undefined;
  private sessionUri: string | undefined;
  private mode: AuthMode;
  private relogins = 0;
  private readonly hostHeader: string;

  private constructor(
    private readonly target: RedfishTarget,
    private readonly limits: RedfishLimits,
    private readonly log: Log,
    connector?: TlsConnector,
  ) {
    this.connection = new HttpsConnection(target.endpoint, target.trust, log, connector);
    this.mode = target.auth;
    this.hostHeader = hostPort(target.endpoint);
  }

  /** Connects, checks the certificate and logs in, all by `limits.loginDeadline`. */
  static async open(
    target: RedfishTarget,
    limits: RedfishLimits,
    log: Log,
    connector?: TlsConnector,
  ): Promise<RedfishClient> {
    const client = new RedfishClient(target, limits, log, connector);
    try {
      await client.connection.open(limits.loginDeadline);
      await client.login(limits.loginDeadline);
    } catch (err) {
      client.connection.close();
      throw err;
    }
    return client;
  }

  get where(): string {
    return this.connection.where;
  }

  /** How requests are authenticated now ("basic" after a session was refused). */
  get authMode(): AuthMode {
    return this.mode;
  }

  /** A resource as a JSON object; any answer but 2xx with a JSON object is an error. */
  async get(path: string): Promise<JsonObject> {
    const answer = await this.send("GET", path);
    if (!isSuccess(answer.status)) throw this.failure("GET", path, answer);
    if (answer.notJson || answer.json === undefined)
      throw new RedfishProtocolError(`GET ${path}: the BMC's answer is not JSON`);
    return objectOf(answer.json, `GET ${path}`);
  }

  /**
   * One request with the current authentication; any status is returned but 401, which opens
   * the session again (auth "session") or fails as a refused login.
   */
  async send(method: Method, path: string, body?: unknown): Promise<RedfishAnswer> {
    for (;;) {
      const answer = await this.exchange(
        method,
        path,
        body,
        Deadline.in(this.limits.requestTimeoutMs),
        true,
      );
      if (answer.status !== 401) return answer;
      if (this.token === undefined || this.relogins >= MAX_RELOGINS)
        throw this.refused(answer, `${method} ${path}`);
      this.relogins += 1;
      this.log(
        `the BMC no longer accepts the session (401 on ${method} ${path}): logging in again`,
      );
      this.token = undefined;
      this.sessionUri = undefined;
      await this.login(Deadline.in(this.limits.requestTimeoutMs));
    }
  }

  /** The error for a failed request: status, and the BMC's own words when it gave some. */
  failure(method: Method, path: string, answer: RedfishAnswer, prefix?: string): RedfishHttpError {
    const { text, messageIds } = errorMessageOf(answer.json);
    const said = text === "" ? "" : `: ${this.quote(text)}`;
    const what = prefix ?? `${method} ${path}`;
    return new RedfishHttpError(
      `${what}: ${this.where} answered ${answer.status}${answer.reason ? ` ${answer.reason}` : ""}${said}`,
      answer.status,
      messageIds,
    );
  }

  /** Deletes the session (if any) and closes the connection; bounded, never throws. */
  async close(): Promise<void> {
    try {
      if (this.token !== undefined && this.sessionUri !== undefined) {
        const answer = await this.exchange(
          "DELETE",
          this.sessionUri,
          undefined,
          Deadline.in(Math.min(LOGOUT_TIMEOUT_MS, this.limits.requestTimeoutMs)),
          true,
        );
        this.log(`session deleted (${answer.status})`);
      }
    } catch (err) {
      this.log(`the session could not be deleted: ${(err as Error).message}`);
    } finally {
      this.token = undefined;
      this.connection.close();
    }
  }

  /** Text from the BMC made fit for a message (see quoteBmcText). */
  quote(text: string): string {
    return quoteBmcText(text, this.secrets());
  }

  private secrets(): string[] {
    return this.token === undefined ? [this.target.password] : [this.target.password, this.token];
  }

  private refused(answer: RedfishAnswer, step: string): RedfishAuthError {
    const { text } = errorMessageOf(answer.json);
    const said = text === "" ? "" : `: ${this.quote(text)}`;
    return new RedfishAuthError(
      `${this.where} refused the login of user '${this.target.username}' (${step}: ${answer.status}${answer.reason ? ` ${answer.reason}` : ""})${said}`,
    );
  }

  private async login(deadline: Deadline): Promise<void> {
    if (this.target.auth === "basic") {
      this.mode = "basic";
      return;
    }
    const path = sessionsPath(this.target.root);
    const answer = await this.exchange(
      "POST",
      path,
      { UserName: this.target.username, Password: this.target.password },
      deadline,
      false,
    );
    if (answer.status === 401 || answer.status === 403) throw this.refused(answer, "session login");
    if (isSuccess(answer.status)) {
      const token = answer.headers.get("x-auth-token");
      const location =
        answer.headers.get("location") ??
        (isObject(answer.json) && typeof answer.json["@odata.id"] === "string"
          ? answer.json["@odata.id"]
          : undefined);
      if (token !== undefined && token !== "") {
        this.token = token;
        this.sessionUri = location === undefined ? undefined : pathOf(location);
        this.mode = "session";
        this.log(
          `session opened${this.sessionUri === undefined ? " (no session URI to delete)" : ""}`,
        );
        return;
      }
      this.log(
        `the session login answered ${answer.status} without a token: using basic authentication`,
      );
    } else {
      this.log(
        `the BMC opened no session (${answer.status}${answer.reason ? ` ${answer.reason}` : ""}): using basic authentication`,
      );
    }
    this.mode = "basic";
  }

  private headers(withAuth: boolean, hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      Host: this.hostHeader,
      Accept: "application/json",
      "OData-Version": "4.0",
      "User-Agent": "kvmha-fence_redfish",
    };
    if (hasBody) headers["Content-Type"] = "application/json";
    if (withAuth) {
      if (this.mode === "session" && this.token !== undefined) headers["X-Auth-Token"] = this.token;
      else
        headers.Authorization = `Basic ${Buffer.from(`${this.target.username}:${this.target.password}`, "utf8").toString("base64")}`;
    }
    return headers;
  }

  private async exchange(
    method: Method,
    path: string,
    body: unknown,
    deadline: Deadline,
    withAuth: boolean,
  ): Promise<RedfishAnswer> {
    const started = Date.now();
    // A BMC may name the session after its token: the token never goes into a log line.
    const shown =
      this.token !== undefined && path.includes(this.token)
        ? path.split(this.token).join("[token]")
        : path;
    const bytes = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
    let response: HttpResponse;
    try {
      response = await this.connection.request(
        {
          method,
          path,
          headers: this.headers(withAuth, bytes !== undefined),
          ...(bytes ? { body: bytes } : {}),
        },
        deadline,
      );
    } catch (err) {
      this.log(`${method} ${shown} failed after ${formatSeconds(Date.now() - started)}`);
      throw err;
    }
    this.log(`${method} ${shown} → ${response.status} (${Date.now() - started} ms)`);
    let json: unknown;
    let notJson = false;
    if (response.body.length > 0) {
      try {
        json = parseJson(response.body, `${method} ${path}`);
      } catch {
        notJson = true;
      }
    }
    return {
      status: response.status,
      reason: response.reason,
      headers: response.headers,
      json,
      notJson,
    };
  }
}
