/**
 * DEVELOPERS.md's layout rule, held by the suite: one module per concern, so a source file past
 * 600 lines starts with a line `// Why one file: …` saying why it stays whole.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FOLDERS = ["lib", "fence", "agents", "topology", "commands", "scripts", "bench", "test"];
const LIMIT = 600;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "fixtures" ? [] : sources(full);
    return /\.(ts|mjs|sh)$/.test(e.name) ? [full] : [];
  });
}

describe("layout", () => {
  it(`a source file past ${LIMIT} lines says first why it stays whole`, () => {
    const unexplained = FOLDERS.flatMap((f) => sources(path.join(ROOT, f))).filter((file) => {
      const text = fs.readFileSync(file, "utf8");
      return text.split("\n").length - 1 > LIMIT && !/^(#!.*\n)?(\/\/|#) Why one file: /.test(text);
    });
    assert.deepEqual(
      unexplained.map((f) => path.relative(ROOT, f)),
      [],
    );
  });
});
