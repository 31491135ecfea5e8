/**
 * Resource parameters: declared once (name, type, default, what metadata says about them), read
 * from `OCF_RESKEY_<name>` at run time, checked once, then read through typed accessors. An action
 * never sees a value of the wrong form.
 */
import { Secret } from "../secret.js";
import { OcfNotConfigured } from "./codes.js";

/** The content types ra-api-1.dtd allows. */
export type ParamType = "string" | "integer" | "boolean" | "time";

export interface ParamSpec {
  /** The parameter name: `OCF_RESKEY_<name>` in the environment, so letters, digits and `_`. */
  readonly name: string;
  readonly type: ParamType;
  readonly shortdesc: string;
  readonly longdesc: string;
  /** Used when `OCF_RESKEY_<name>` is unset (an empty value is a value, as in the shell agents). */
  readonly default?: string;
  readonly required?: boolean;
  /** Metadata's `unique="1"`: no two resources of this agent may share the value. */
  readonly unique?: boolean;
  /** OCF 1.1: a change is applied by `reload-agent` instead of a restart. */
  readonly reloadable?: boolean;
  /** Read only as a `Secret` (params.secret), which prints as `[hidden]` wherever it is interpolated. */
  readonly secret?: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** ocf_is_true's words, compared without case. */
const TRUE_WORDS: ReadonlySet<string> = new Set(["yes", "true", "1", "ja", "on"]);
/** The other half, which the shell agents leave implicit; anything else is a configuration error. */
const FALSE_WORDS: ReadonlySet<string> = new Set(["no", "false", "0", "nein", "off", ""]);
const INTEGER = /^[+-]?\d+$/;
/** A Pacemaker-style interval: a number and an optional unit; no unit means seconds. */
const TIME = /^(\d+(?:\.\d+)?)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?$/i;
const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  msec: 1,
  us: 0.001,
  usec: 0.001,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
};

/** A time value in milliseconds, or undefined when it is not one. */
export function parseTimeMs(text: string): number | undefined {
  const m = TIME.exec(text.trim());
  if (m === null) return undefined;
  const unit = (m[2] ?? "s").toLowerCase();
  return Math.round(Number.parseFloat(m[1] as string) * (UNIT_MS[unit] ?? 1000));
}

export class OcfParams {
  private readonly byName: ReadonlyMap<string, ParamSpec>;

  constructor(
    specs: readonly ParamSpec[],
    private readonly values: ReadonlyMap<string, string>,
    /** Parameters set in the environment (not defaulted). */
    private readonly given: ReadonlySet<string>,
  ) {
    this.byName = new Map(specs.map((s) => [s.name, s]));
  }

  private spec(name: string): ParamSpec {
    const spec = this.byName.get(name);
    if (spec === undefined) throw new Error(`parameter '${name}' is not declared by this agent`);
    return spec;
  }

  /** Was the parameter set in the environment (rather than defaulted)? */
  isSet(name: string): boolean {
    return this.given.has(this.spec(name).name);
  }

  /** A parameter's text; a secret one only through `secret()`, so it cannot reach a message as text. */
  string(name: string): string | undefined {
    const spec = this.spec(name);
    if (spec.secret === true)
      throw new Error(`parameter '${name}' is secret: read it with secret()`);
    return this.values.get(spec.name);
  }

  /** A secret parameter, as a value that prints as `[hidden]`. */
  secret(name: string): Secret | undefined {
    const value = this.values.get(this.spec(name).name);
    return value === undefined ? undefined : new Secret(value);
  }

  integer(name: string): number | undefined {
    const text = this.string(name);
    return text === undefined ? undefined : Number.parseInt(text.trim(), 10);
  }

  /** ocf_is_true: unset and without default is false. */
  flag(name: string): boolean {
    const text = this.string(name);
    return text !== undefined && TRUE_WORDS.has(text.trim().toLowerCase());
  }

  /** A time parameter in milliseconds. */
  ms(name: string): number | undefined {
    const text = this.string(name);
    return text === undefined ? undefined : parseTimeMs(text);
  }

  /** The values as name=value for debug logs and traces, secrets hidden. */
  describe(): string {
    const parts: string[] = [];
    for (const [name, value] of this.values)
      parts.push(`${name}=${this.spec(name).secret === true ? "[hidden]" : value}`);
    return parts.join(" ");
  }
}

/** Reads every declared parameter from the environment and applies defaults; no checks yet. */
export function readParams(specs: readonly ParamSpec[], env: Env): OcfParams {
  const values = new Map<string, string>();
  const given = new Set<string>();
  for (const spec of specs) {
    // Only the declared default counts. resource-agents' shell agents assign their own
    // OCF_RESKEY_<name>_default at load time, so one in the environment never had an effect.
    const raw = env[`OCF_RESKEY_${spec.name}`];
    if (raw !== undefined) {
      values.set(spec.name, raw);
      given.add(spec.name);
    } else if (spec.default !== undefined) {
      values.set(spec.name, spec.default);
    }
  }
  return new OcfParams(specs, values, given);
}

/**
 * Required parameters and every value's form. Messages name the parameter and, except for
 * secrets, the value. Throws OcfNotConfigured, as ocf-rarun does for any action.
 */
export function checkParams(specs: readonly ParamSpec[], params: OcfParams): void {
  for (const spec of specs) {
    const value =
      spec.secret === true ? params.secret(spec.name)?.reveal() : params.string(spec.name);
    if (spec.required === true && (value === undefined || value === "")) {
      throw new OcfNotConfigured(`${spec.name}: required parameter not set`);
    }
    if (value === undefined) continue;
    const shown = spec.secret === true ? "" : ` '${value}'`;
    const ok =
      spec.type === "string" ||
      (spec.type === "integer" && INTEGER.test(value.trim())) ||
      (spec.type === "boolean" &&
        (TRUE_WORDS.has(value.trim().toLowerCase()) ||
          FALSE_WORDS.has(value.trim().toLowerCase()))) ||
      (spec.type === "time" && parseTimeMs(value) !== undefined);
    if (!ok)
      throw new OcfNotConfigured(`${spec.name}: the value${shown} is not ${ARTICLE[spec.type]}`);
  }
}

const ARTICLE: Readonly<Record<ParamType, string>> = {
  string: "a string",
  integer: "an integer",
  boolean: "a boolean (yes/no, true/false, 1/0, on/off)",
  time: "a time (a number of seconds, or with a unit: ms, s, min, h)",
};
