/**
 * A small ordered element tree over xml2js, for the CIB: element name, attributes, children in
 * document order (Pacemaker's nvpair sets and topology depend on order). Pure: text in, tree out.
 */
import { Parser } from "xml2js";
import { XmlSyntaxError, parseXmlWith } from "../../lib/xml.js";

export interface Element {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly Element[];
}

/** The XML could not be read as a document: one line, safe to print. */
export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "XmlError";
  }
}

interface RawNode {
  "#name"?: string;
  $?: Record<string, string>;
  $$?: RawNode[];
}

function convert(node: RawNode, name: string): Element {
  const children: Element[] = [];
  for (const child of node.$$ ?? []) {
    const childName = child["#name"];
    // Text, comments and CDATA come through as "__text__"/"__comment__"-like names: the CIB carries
    // everything we read in attributes.
    if (childName === undefined || childName.startsWith("__")) continue;
    children.push(convert(child, childName));
  }
  return { name, attrs: node.$ ?? {}, children };
}

/** Parses an XML document into its root element; throws XmlError with a one-line reason. */
export function parseXml(xml: string): Element {
  if (xml.trim() === "") throw new XmlError("empty document");
  let doc: Record<string, RawNode> | undefined;
  try {
    doc = (parseXmlWith(
      Parser,
      {
        explicitChildren: true,
        preserveChildrenOrder: true,
        explicitRoot: true,
        explicitArray: true,
        charsAsChildren: false,
        includeWhiteChars: false,
        strict: true,
      },
      xml,
    ) ?? undefined) as Record<string, RawNode> | undefined;
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new XmlError(err.message);
    throw err;
  }
  if (doc === undefined || typeof doc !== "object") throw new XmlError("empty document");
  const [rootName] = Object.keys(doc);
  if (rootName === undefined) throw new XmlError("empty document");
  const root = doc[rootName];
  return convert(typeof root === "object" && root !== null ? root : {}, rootName);
}

export function childrenNamed(el: Element, name: string): Element[] {
  return el.children.filter((c) => c.name === name);
}

export function firstChild(el: Element, name: string): Element | undefined {
  return el.children.find((c) => c.name === name);
}

/** Every descendant named `name`, depth first, in document order. */
export function descendants(el: Element, name: string): Element[] {
  const out: Element[] = [];
  const walk = (e: Element): void => {
    for (const c of e.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}
