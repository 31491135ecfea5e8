/**
 * fence_ipmi's hexadecimal_kg_script: the Kg key (a BMC secret like the password) by reference, so
 * kvmha render never has to put it into the CIB. The script's first line is the key, checked like
 * a hexadecimal_kg given directly, and never written anywhere.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fenceIpmi } from "../../fence/fence_ipmi.js";
import { runFenceAgent } from "../../lib/fence/run.js";

async function runIpmi(stdin: string): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runFenceAgent(fenceIpmi, [], {
    readStdin: async () => stdin,
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  return { code, out, err };
}

describe("fence_ipmi's hexadecimal_kg_script", () => {
  it("is advertised in metadata and stands for hexadecimal_kg", async () => {
    const meta = await runIpmi("action=metadata\n");
    assert.match(meta.out, /<parameter name="hexadecimal_kg_script" unique="0" required="0">/);
    assert.equal(
      fenceIpmi.options.find((o) => o.name === "hexadecimal_kg_script")?.scriptFor,
      "hexadecimal_kg",
    );
  });

  it("validate-all does not run it (pcs 0.12 validates every device it creates)", async () => {
    const r = await runIpmi(
      "ip=127.0.0.1\nusername=u\npassword=bmc-pass-1\naction=validate-all\nhexadecimal_kg_script=exit 7\n",
    );
    assert.equal(r.code, 0, r.err);
  });

  it("its output is checked as a Kg key before any request, and never shown", async () => {
    const r = await runIpmi(
      "ip=127.0.0.1\nusername=u\npassword=bmc-pass-1\naction=status\nhexadecimal_kg_script=printf 'not-hex-secret\\n'\nverbose_level=3\n",
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /hexadecimal_kg must be up to 20 bytes written in hexadecimal/);
    assert.match(r.err, /hexadecimal_kg_script=\[hidden\]/);
    assert.doesNotMatch(r.err + r.out, /not-hex-secret|printf/);
  });

  it("a failing script is one line and exit 1, before the BMC is reached", async () => {
    const r = await runIpmi(
      "ip=127.0.0.1\nusername=u\npassword=bmc-pass-1\naction=status\nhexadecimal_kg_script=exit 3\n",
    );
    assert.equal(r.code, 1);
    assert.equal(r.err, "ERROR: hexadecimal_kg_script exited with status 3\n");
  });
});
