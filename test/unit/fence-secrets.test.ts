/**
 * Secrets are redacted where they are interpolated, never by searching text: whatever a password,
 * a community or an SNMPv3 privacy password is ("a", "1", the user name itself), every message the
 * agents write is the same as with any other value, and `[hidden]` never stands inside a word.
 * fence_ipmi runs against the lab's RMCP+ BMC on loopback, fence_pdu against a silent loopback port.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { fenceIpmi } from "../../fence/fence_ipmi.js";
import { fencePdu } from "../../fence/fence_pdu.js";
import type { FenceAgent } from "../../lib/fence/agent.js";
import { HIDDEN, Secret } from "../../lib/secret.js";
import { type TestBmc, startTestBmc } from "../lab/rmcpplus-bmc.js";
import { runAgent } from "../lab/run-agent.js";

interface Run {
  code: number;
  text: string;
  syslog: string;
}

async function run<S>(agent: FenceAgent<S>, stdin: string): Promise<Run> {
  const r = await runAgent(agent, [], stdin);
  return { code: r.code, text: r.out + r.err, syslog: r.syslog.join("\n") };
}

/** `[hidden]` glued to a letter or digit: what a text search makes of a short secret. */
const INSIDE_A_WORD = /[\w.:'-]\[hidden\]|\[hidden\][\w.:'-]/;

/** Timestamps and durations vary from run to run; nothing else may. */
function stable(text: string): string {
  return text
    .replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} /gm, "")
    .replace(/\b\d+(\.\d+)? (s|ms)\b/g, "N $2")
    .replace(/session [0-9a-fx]+/gi, "session N");
}

function assertClean(r: Run, what: string): void {
  assert.doesNotMatch(r.text, INSIDE_A_WORD, `${what}:\n${r.text}`);
  assert.doesNotMatch(r.syslog, INSIDE_A_WORD, `${what} (syslog):\n${r.syslog}`);
}

describe("Secret", () => {
  it("prints as [hidden] in every way a value becomes text; reveal() gives the value", () => {
    const s = new Secret("a");
    assert.equal(`${s}`, HIDDEN);
    assert.equal(String(s), HIDDEN);
    assert.equal(JSON.stringify({ password: s }), `{"password":"${HIDDEN}"}`);
    assert.equal(inspect(s), HIDDEN);
    assert.equal(inspect({ s }), `{ s: ${HIDDEN} }`);
    assert.equal(s.reveal(), "a");
    assert.equal(Object.keys(s).length, 0);
  });
});

describe("fence_ipmi: messages do not depend on the password", () => {
  let bmc: TestBmc;
  before(async () => {
    bmc = await startTestBmc({
      users: [
        { name: "ADMIN", password: "ADMIN", privilege: "admin" },
        { name: "a", password: "the-right-one", privilege: "admin" },
      ],
      suites: [17, 3],
    });
  });
  after(async () => bmc.stop());

  const base = (user: string, password: string, extra = ""): string =>
    `ip=${bmc.host}\nipport=${bmc.port}\nusername=${user}\npassword=${password}\nlogin_timeout=2\nipmitool_timeout=0.5\nverbose_level=3\n${extra}`;

  it("user = password (ADMIN/ADMIN): the user is named, nothing says they are equal", async () => {
    const r = await run(fenceIpmi, `${base("ADMIN", "ADMIN")}action=status\n`);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /user ADMIN\b/);
    // The debug dump of the options is the one place a secret is shown, as [hidden].
    assert.doesNotMatch(r.text.replace(/ password=\[hidden\] /, " "), /\[hidden\]/);
    assertClean(r, "ADMIN/ADMIN");
  });

  it("a wrong password of one letter, a digit, or the user name: the same message", async () => {
    const texts = new Map<string, string>();
    for (const password of ["a", "1", "ADMIN", "A", "x9-unlikely-pw"]) {
      const r = await run(fenceIpmi, `${base("a", password)}action=status\n`);
      assert.equal(r.code, 1, r.text);
      assertClean(r, `password ${password}`);
      assert.match(r.text, /answered|refused|user 'a'/);
      texts.set(password, stable(r.text));
    }
    const [first, ...rest] = [...texts.values()];
    for (const t of rest) assert.equal(t, first);
  });

  it("password 1 against 127.0.0.1 and a Kg key: the address is intact", async () => {
    const r = await run(
      fenceIpmi,
      `ip=127.0.0.1\nipport=${bmc.port}\nusername=nobody\npassword=1\nhexadecimal_kg=0x31\nlogin_timeout=1\nipmitool_timeout=0.3\naction=status\n`,
    );
    assert.equal(r.code, 1);
    assert.match(r.text, /127\.0\.0\.1/);
    assertClean(r, "password 1");
  });
});

describe("fence_pdu: messages do not depend on the community or the SNMPv3 passwords", () => {
  let silent: dgram.Socket;
  let port = 0;
  before(async () => {
    silent = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
    port = silent.address().port;
  });
  after(() => silent.close());

  const pdu = (extra: string): string =>
    `ip=127.0.0.1\nipport=${port}\nplug=1\naction=status\nlogin_timeout=0.4\nshell_timeout=0.2\nretry_on=1\nverbose=1\n${extra}`;

  for (const [name, variants] of [
    ["community (v1)", ["snmp_version=1\ncommunity=a", "snmp_version=1\ncommunity=zz-other"]],
    [
      "community (v2c)",
      ["snmp_version=2c\ncommunity=1", "snmp_version=2c\ncommunity=private", "snmp_version=2c"],
    ],
    [
      "SNMPv3 auth and priv passwords",
      [
        "snmp_version=3\nusername=a\npassword=aaaaaaaa\nsnmp_priv_passwd=11111111\nsnmp_sec_level=authPriv",
        "snmp_version=3\nusername=a\npassword=a-longer-one\nsnmp_priv_passwd=another-one\nsnmp_sec_level=authPriv",
      ],
    ],
    [
      "SNMPv3 passwords from scripts",
      [
        "snmp_version=3\nusername=pdu\npassword_script=echo pdupdupdu\nsnmp_priv_passwd_script=echo 12700001\nsnmp_sec_level=authPriv",
        "snmp_version=3\nusername=pdu\npassword_script=echo zzzzzzzz\nsnmp_priv_passwd_script=echo yyyyyyyy\nsnmp_sec_level=authPriv",
      ],
    ],
  ] as const) {
    it(`${name}: the same words whatever the secret`, async () => {
      const texts: string[] = [];
      for (const v of variants) {
        const r = await run(fencePdu, pdu(`${v}\n`));
        assert.equal(r.code, 1, r.text);
        assert.match(r.text, /127\.0\.0\.1/);
        assertClean(r, v);
        texts.push(stable(r.text));
      }
      for (const t of texts.slice(1)) assert.equal(t, texts[0]);
    });
  }
});
