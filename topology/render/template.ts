/**
 * kvmha's own template scheme, small enough to read in a minute (docs/templates.md):
 *
 *   #% begin NAME          a block section: the lines up to `#% end`, each ending in a newline
 *   #% end
 *   #% piece NAME          the same, without the newline after its last line (a parameter that
 *   #% end                 continues a command on a new line)
 *   #% inline NAME: TEXT   a one-line piece: TEXT without a newline
 *   {{name}}               a placeholder, replaced by a value the renderer has already escaped
 *
 * Every other line of a template file is commentary for whoever studies it, and is not output.
 * Values are Fragments: text escaped for the target syntax (shell, crmsh, XML) by escape.ts, so a
 * placeholder never receives raw inventory text. A placeholder without a value, or a value that no
 * placeholder uses, is an error: a template and its renderer cannot silently drift apart.
 */

declare const fragmentBrand: unique symbol;
/** Text already escaped for the syntax it is inserted into. */
export type Fragment = string & { readonly [fragmentBrand]: true };

/** For text the renderer builds itself from other Fragments or fixed syntax. */
export function fragment(text: string): Fragment {
  return text as Fragment;
}

export function joinFragments(parts: readonly Fragment[], separator = ""): Fragment {
  return parts.join(separator) as Fragment;
}

export class TemplateError extends Error {}

export interface Template {
  readonly file: string;
  readonly sections: ReadonlyMap<string, string>;
}

const PLACEHOLDER = /\{\{([a-z][a-z0-9_]*)\}\}/g;

export function parseTemplate(file: string, text: string): Template {
  const sections = new Map<string, string>();
  let current: { name: string; lines: string[]; at: number; piece: boolean } | undefined;
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (const [i, line] of lines.entries()) {
    const at = `${file}:${i + 1}`;
    const directive = /^#%\s*(begin|piece|end|inline)\b\s*(.*)$/.exec(line);
    if (directive === null) {
      current?.lines.push(line);
      continue;
    }
    const [, verb, rest = ""] = directive;
    if (verb === "end") {
      if (current === undefined) throw new TemplateError(`${at}: '#% end' without '#% begin'`);
      const body = current.lines.map((l) => `${l}\n`).join("");
      sections.set(current.name, current.piece ? body.replace(/\n$/, "") : body);
      current = undefined;
      continue;
    }
    if (current !== undefined)
      throw new TemplateError(
        `${at}: '#% ${verb}' inside section '${current.name}' (begun at line ${current.at}); expected '#% end' first`,
      );
    const m =
      verb !== "inline"
        ? /^([a-z][a-z0-9-]*)$/.exec(rest)
        : /^([a-z][a-z0-9-]*):\s?(.*)$/.exec(rest);
    if (m === null || m[1] === undefined)
      throw new TemplateError(
        `${at}: expected '#% begin NAME', '#% piece NAME' or '#% inline NAME: TEXT' (NAME in lower case, digits, -)`,
      );
    if (sections.has(m[1])) throw new TemplateError(`${at}: section '${m[1]}' is defined twice`);
    if (verb !== "inline") current = { name: m[1], lines: [], at: i + 1, piece: verb === "piece" };
    else sections.set(m[1], m[2] ?? "");
  }
  if (current !== undefined)
    throw new TemplateError(`${file}:${current.at}: section '${current.name}' has no '#% end'`);
  return { file, sections };
}

/** One section with its placeholders replaced. */
export function fill(
  t: Template,
  section: string,
  values: Readonly<Record<string, Fragment>>,
): Fragment {
  const body = t.sections.get(section);
  if (body === undefined) throw new TemplateError(`${t.file}: no section '${section}'`);
  const used = new Set<string>();
  const out = body.replace(PLACEHOLDER, (_, name: string) => {
    const v = values[name];
    if (v === undefined)
      throw new TemplateError(
        `${t.file}: section '${section}' uses {{${name}}}, which the renderer does not provide (it provides: ${Object.keys(values).join(", ") || "nothing"})`,
      );
    used.add(name);
    return v;
  });
  for (const name of Object.keys(values)) {
    if (!used.has(name))
      throw new TemplateError(`${t.file}: section '${section}' does not use {{${name}}}`);
  }
  return fragment(out);
}

/** The section names a template defines (for tests and error messages). */
export function sectionNames(t: Template): string[] {
  return [...t.sections.keys()];
}
