/** XML for everyone: escaping for the documents we write, and one way to parse with xml2js. */
import type * as Xml2js from "xml2js";
import { messageOf } from "./errors.js";

/** Text made safe for XML attribute values and element content (all five predefined entities). */
export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/"/g, "&quot;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/'/g, "&apos;");
}

/** An XML text xml2js could not parse; `detail` is its reason in one line. */
export class XmlSyntaxError extends Error {
  constructor(readonly detail: string) {
    super(`not well-formed XML: ${detail}`);
    this.name = "XmlSyntaxError";
  }
}

/**
 * Parses `text` with xml2js, synchronously: its Parser calls back before parseString returns unless
 * `async` is set. The Parser class is the caller's, so that a module in the startup snapshot can
 * load xml2js only when it first parses (lib/libvirt/domain-xml.ts). Throws XmlSyntaxError.
 */
export function parseXmlWith(
  Parser: typeof Xml2js.Parser,
  options: Xml2js.ParserOptions,
  text: string,
): unknown {
  let result: unknown;
  let failure: unknown;
  new Parser({ ...options, async: false }).parseString(text, (err: unknown, parsed: unknown) => {
    failure = err ?? undefined;
    result = parsed;
  });
  if (failure !== undefined)
    throw new XmlSyntaxError(messageOf(failure).replace(/\s+/g, " ").trim());
  return result;
}
