/**
 * Parsed and validated option values, read through typed accessors. Validation happens once,
 * here, against the declarations; an agent never sees a value of the wrong form.
 */
import { UsageError } from "../errors.js";
import { bounded } from "../log.js";
import { Secret } from "../secret.js";
import { type OptionSpec, longName } from "./options.js";
import type { OptionIndex, RawInput } from "./parse.js";

export class FenceOptions {
  constructor(
    private readonly index: OptionIndex,
    private readonly values: ReadonlyMap<string, string>,
    /** Options the user gave explicitly (not defaults). */
    private readonly given: ReadonlySet<string>,
  ) {}

  private spec(name: string): OptionSpec {
    const spec = this.index.byStdinKey(name);
    if (spec === undefined) throw new Error(`option '${name}' is not declared by this agent`);
    return spec;
  }

  /** Does the agent take this option at all? */
  declares(name: string): boolean {
    return this.index.byStdinKey(name) !== undefined;
  }

  /** Was the option given by the user (rather than defaulted)? */
  isGiven(name: string): boolean {
    return this.given.has(this.spec(name).name);
  }

  /** Is the option set (given, or defaulted)? Secret ones included. */
  has(name: string): boolean {
    return this.values.has(this.spec(name).name);
  }

  /**
   * An option's text. A secret option only through `secret()`: it can then never reach a message
   * as text, only as `[hidden]`.
   */
  string(name: string): string | undefined {
    const spec = this.spec(name);
    if (spec.secret === true) throw new Error(`option '${name}' is secret: read it with secret()`);
    return this.values.get(spec.name);
  }

  /** A secret option (password, community, Kg), as a value that prints as `[hidden]`. */
  secret(name: string): Secret | undefined {
    const value = this.values.get(this.spec(name).name);
    return value === undefined ? undefined : new Secret(value);
  }

  integer(name: string): number | undefined {
    const text = this.string(name);
    return text === undefined ? undefined : Number.parseInt(text, 10);
  }

  /** Seconds as a number (fractions allowed); 0 when unset and without default. */
  seconds(name: string): number {
    const text = this.string(name);
    return text === undefined ? 0 : Number.parseFloat(text);
  }

  flag(name: string): boolean {
    return this.string(name) === "1";
  }

  /**
   * The device's address: `ip`, or the plug where the agent takes port_as_ip and it is set (one
   * device entry for many BMCs, as in fence-agents).
   */
  host(): string {
    const plug = this.declares("plug") ? (this.string("plug") ?? "") : "";
    if (this.declares("port_as_ip") && this.flag("port_as_ip") && plug !== "") return plug;
    return this.string("ip") ?? "";
  }

  /** A copy with one value replaced (e.g. the password that password_script printed). */
  with(name: string, value: string): FenceOptions {
    const values = new Map(this.values);
    values.set(this.spec(name).name, value);
    return new FenceOptions(this.index, values, new Set([...this.given, this.spec(name).name]));
  }

  /** The options as key=value text for debug logs, secrets replaced. */
  describe(): string {
    const parts: string[] = [];
    for (const [name, value] of this.values) {
      const spec = this.spec(name);
      // A script's command line may hold the secret itself (`echo …`), so it is hidden too.
      parts.push(
        `${name}=${spec.secret === true || spec.scriptFor !== undefined ? "[hidden]" : value}`,
      );
    }
    return parts.join(" ");
  }
}

const INTEGER = /^[+-]?\d+$/;
const SECONDS = /^\d+(\.\d+)?$/;
/**
 * The longest wait a timer can keep: Node's setTimeout takes at most 2^31-1 ms (24.8 days) and
 * fires after 1 ms for anything longer, which would turn a long `delay` into none.
 */
export const MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** Applies defaults and checks every value's form; the first problem is a UsageError. */
export function resolveOptions(index: OptionIndex, input: RawInput): FenceOptions {
  const values = new Map<string, string>();
  const given = new Set(input.values.keys());
  for (const spec of index.specs) {
    const raw = input.values.get(spec.name);
    if (raw !== undefined) values.set(spec.name, normalise(spec, raw));
    else if (spec.default !== undefined) values.set(spec.name, spec.default);
  }
  if (!given.has("verbose_level") && input.verboseCount > 0)
    values.set("verbose_level", String(input.verboseCount));
  return new FenceOptions(index, values, given);
}

function normalise(spec: OptionSpec, raw: string): string {
  const shown = `--${longName(spec)}`;
  switch (spec.type) {
    case "integer": {
      if (!INTEGER.test(raw.trim()))
        throw new UsageError(
          `Failed: The value you have entered for ${shown} is not a valid integer`,
        );
      const n = Number.parseInt(raw.trim(), 10);
      const range = spec.range;
      if (range !== undefined && (n < range.min || n > range.max || !Number.isSafeInteger(n)))
        throw new UsageError(
          `Failed: ${shown} ${bounded(raw.trim(), 24)} is out of range: ${range.what} is ${range.min} to ${range.max}`,
        );
      return String(n);
    }
    case "second":
      if (!SECONDS.test(raw.trim()))
        throw new UsageError(
          `Failed: The value you have entered for ${shown} is not a valid time in seconds`,
        );
      if (Number.parseFloat(raw.trim()) > MAX_SECONDS)
        throw new UsageError(
          `Failed: ${shown} ${bounded(raw.trim(), 24)} is too long: at most ${MAX_SECONDS} seconds (24.8 days), the longest wait a timer can keep`,
        );
      return raw.trim();
    case "select": {
      const choice = (spec.choices ?? []).find((c) => c.toLowerCase() === raw.trim().toLowerCase());
      if (choice === undefined) {
        throw new UsageError(
          `Failed: You have to enter a valid choice for ${shown} from the valid values: ${(spec.choices ?? []).join(", ")}`,
        );
      }
      return choice;
    }
    case "boolean":
    case "string":
      return raw;
  }
}
