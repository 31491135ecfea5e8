/**
 * A secret (a password, a community, a Kg key) as a typed value. It prints as `[hidden]` wherever
 * it is interpolated, serialised or inspected; only `reveal()` gives the value, and only code that
 * hands it to a protocol calls that. Redaction therefore happens where a value is put into text,
 * never by searching text afterwards: a search would garble every message that happens to contain
 * the secret's characters (password `a`, user = password) and so tell a log reader what it is.
 */
export const HIDDEN = "[hidden]";

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value itself: for protocol code only, never for a message. */
  reveal(): string {
    return this.#value;
  }

  get empty(): boolean {
    return this.#value === "";
  }

  toString(): string {
    return HIDDEN;
  }

  toJSON(): string {
    return HIDDEN;
  }

  /** util.inspect and console.log. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return HIDDEN;
  }
}
