/**
 * Escaping of inventory values for each output syntax. Everything the inventory says goes through
 * one of these before it reaches a template (template.ts accepts only Fragments).
 */
import { xmlEscape } from "../../lib/xml.js";
import { type Fragment, fragment } from "./template.js";

// Characters that are one word in POSIX sh without quoting.
const SHELL_PLAIN = /^[A-Za-z0-9_.,:/@%+=-]+$/;

/** One shell word: as is when plain, else single-quoted (a ' becomes '\''). */
export function shellWord(value: string): Fragment {
  if (SHELL_PLAIN.test(value)) return fragment(value);
  return fragment(`'${value.replace(/'/g, "'\\''")}'`);
}

/**
 * A crmsh value. crmsh splits its lines like a POSIX shell (shlex): inside double quotes only \
 * and " need a backslash. Always quoted, so spaces, ; and # stay part of the value.
 */
export function crmshValue(value: string): Fragment {
  return fragment(`"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`);
}

/** An XML attribute value or text (all five predefined entities). */
export function xmlValue(value: string): Fragment {
  return fragment(xmlEscape(value));
}

/** What XML cannot carry at all, even in a comment: control characters, U+FFFE, U+FFFF, a lone surrogate. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\p{Cs}]/gu;

/**
 * Text inside an XML comment: "--" may not appear there, nor a "-" just before the closing "-->",
 * nor a character XML cannot carry (the inventory's file name may hold any).
 */
export function xmlCommentText(value: string): Fragment {
  return fragment(
    value
      .replace(NOT_XML, "?")
      .replace(/-(?=-)/g, "- ")
      .replace(/-$/, "- "),
  );
}

/** Text after "# " in a shell or crmsh comment: one line. */
export function commentText(value: string): Fragment {
  return fragment(value.replace(/[\r\n]+/g, " "));
}
