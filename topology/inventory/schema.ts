/**
 * The inventory's JSON Schema (draft 2020-12), for editors, generated from the field table
 * (fields.ts): crm-templates/inventory.schema.json is this, formatted. kvmha render validates more
 * than a schema can say (references between sections, outlets used twice, addresses).
 *
 * scripts/inventory-schema.ts writes it.
 */
import {
  type Field,
  MAX_ITEMS,
  MAX_OUTLETS,
  MAX_TEXT,
  OUTLET,
  SAFE_PATH,
  SECTIONS,
  type Section,
  type SectionSpec,
} from "./fields.js";

type Json = { [key: string]: unknown };

/** A RegExp as a JSON Schema pattern (ECMA-262 too), without the escaping a literal's slashes need. */
function pattern(re: RegExp): string {
  return re.source.replaceAll("\\/", "/");
}

function described(out: Json, f: Field): Json {
  return f.description === undefined ? out : { ...out, description: f.description };
}

function fieldSchema(f: Field): Json {
  switch (f.kind) {
    case "text":
      return described(
        f.pattern !== undefined
          ? { type: "string", maxLength: MAX_TEXT, pattern: pattern(f.pattern) }
          : { type: "string", minLength: 1, maxLength: MAX_TEXT },
        f,
      );
    case "integer":
      return described(
        f.values !== undefined
          ? { enum: [...f.values] }
          : { type: "integer", minimum: f.min, maximum: f.max },
        f,
      );
    case "boolean":
      return described({ type: "boolean" }, f);
    case "choice": {
      const choices = [...f.choices()];
      const numbers = f.numeric === true ? choices.filter((c) => /^\d+$/.test(c)).map(Number) : [];
      return described({ enum: [...choices, ...numbers] }, f);
    }
    case "section":
      return { $ref: `#/$defs/${f.section}` };
    case "list":
      return described(
        {
          type: "array",
          ...(f.minItems === undefined ? {} : { minItems: f.minItems }),
          maxItems: MAX_ITEMS,
          items: { $ref: `#/$defs/${f.of}` },
        },
        f,
      );
    case "words": {
      const choices = f.choices?.();
      const item: Json =
        choices !== undefined
          ? { enum: [...choices] }
          : f.pattern !== undefined
            ? { type: "string", pattern: pattern(f.pattern) }
            : { type: "string", minLength: 1 };
      return described({ type: "array", uniqueItems: true, items: item }, f);
    }
    case "paths":
      return described(
        {
          type: "array",
          minItems: f.minItems,
          maxItems: f.maxItems,
          items: {
            type: "string",
            maxLength: MAX_TEXT,
            pattern: pattern(SAFE_PATH),
            description: f.item,
          },
        },
        f,
      );
    case "outlets":
      return described(
        {
          oneOf: [
            {
              type: "array",
              minItems: 1,
              maxItems: MAX_OUTLETS,
              items: { $ref: "#/$defs/outlet" },
            },
            { $ref: "#/$defs/outlet" },
          ],
        },
        f,
      );
    case "secret-file":
      return described({ type: "string", maxLength: MAX_TEXT, pattern: pattern(SAFE_PATH) }, f);
    case "secret-script":
      return described({ type: "string", minLength: 1, maxLength: MAX_TEXT }, f);
  }
}

function sectionSchema(s: SectionSpec): Json {
  const required = Object.entries(s.fields)
    .filter(([, f]) => f.required === true)
    .map(([k]) => k);
  const out: Json = {
    type: "object",
    ...(s.description === undefined ? {} : { description: s.description }),
    additionalProperties: false,
    ...(required.length === 0 ? {} : { required }),
    ...(s.notEmpty === true ? { minProperties: 1 } : {}),
    properties: Object.fromEntries(Object.entries(s.fields).map(([k, f]) => [k, fieldSchema(f)])),
  };
  // A secret by file or by command: exactly one when required, else not both.
  const secrets = s.secrets ?? [];
  const one = (a: string, b: string): Json => ({ required: [a], not: { required: [b] } });
  const rules = secrets.map((x): Json => {
    const file = `${x.prefix}_file`;
    const script = `${x.prefix}_script`;
    return x.required
      ? { oneOf: [one(file, script), one(script, file)] }
      : { not: { required: [file, script] } };
  });
  if (rules.length === 1) Object.assign(out, rules[0]);
  else if (rules.length > 1) out.allOf = rules;
  return out;
}

export function inventorySchema(): Json {
  const defs: Json = Object.fromEntries(
    (Object.keys(SECTIONS) as Section[]).map((name) => [name, sectionSchema(SECTIONS[name])]),
  );
  defs.outlet = {
    oneOf: [
      { type: "integer", minimum: 1 },
      { type: "string", pattern: pattern(OUTLET) },
    ],
    description: "outlet number, unit:outlet, or outlet name",
  };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://kvmha.invalid/inventory.schema.json",
    title: "kvmha inventory",
    description:
      "One cluster of KVM hypervisors for kvmha render: nodes with their BMC and power supplies, PDUs, guests. Secrets are referenced (a root-only file or a command), never written here. kvmha render validates more than this schema can say (references between sections, outlets used twice, addresses). Generated from topology/inventory/fields.ts.",
    $ref: "#/$defs/inventory",
    $defs: defs,
  };
}
