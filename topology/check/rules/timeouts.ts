/** Timeouts: the fencer's against what the agents may take, per device and per level. */
import type { Primitive } from "../cib.js";
import { type CheckContext, levelName, levelNodes } from "../context.js";
import {
  type FenceAction,
  agentWorstSeconds,
  delayOf,
  familyOf,
  fencerTimeoutSeconds,
  stonithAction,
  stonithTimeoutMs,
} from "../devices.js";
import { parseDurationMs, parseFencerSeconds } from "../duration.js";
import { type Finding, type Rule, deviceSubject, finding, levelSubject } from "../findings.js";

/**
 * The actions the fencer asks this device for: stonith-action=off → off; reboot → reboot when the
 * device is used alone (a level of its own, or no topology), off and on when it is in a level with
 * other devices (the fencer switches every device of such a level off, then every one on).
 */
function actionsFor(ctx: CheckContext, d: Primitive, action: "reboot" | "off"): FenceAction[] {
  if (action === "off") return ["off"];
  const levels = ctx.cib.levels.filter((l) => l.devices.includes(d.id));
  const acts = new Set<FenceAction>();
  if (levels.length === 0 || levels.some((l) => l.devices.length === 1)) acts.add("reboot");
  if (levels.some((l) => l.devices.length > 1)) {
    acts.add("off");
    acts.add("on");
  }
  return [...acts];
}

export const fencingTimeouts: Rule = (ctx) => {
  const out: Finding[] = [];
  const action = stonithAction(ctx.cib);
  const stonithTimeout = stonithTimeoutMs(ctx.cib) / 1000;
  for (const d of ctx.devices) {
    for (const name of [
      "pcmk_reboot_timeout",
      "pcmk_off_timeout",
      "pcmk_on_timeout",
      "pcmk_monitor_timeout",
      "pcmk_status_timeout",
      "pcmk_list_timeout",
    ]) {
      const parsed = parseFencerSeconds(d.instance.get(name));
      if (parsed?.ignoredUnit !== undefined) {
        out.push(
          finding(
            "timeout-unit-ignored",
            deviceSubject(d.id),
            `${name}=${d.instance.get(name) ?? ""}: the fencer reads this value as ${parsed.seconds} seconds (it ignores '${parsed.ignoredUnit}')`,
            {
              device: d.id,
              option: name,
              seconds: Math.round(
                (parseDurationMs(d.instance.get(name)) ?? parsed.seconds * 1000) / 1000,
              ),
            },
          ),
        );
      }
    }
    if (familyOf(d.type) === "other") continue;
    for (const act of actionsFor(ctx, d, action)) {
      const worst = agentWorstSeconds(d, act);
      const allowed = fencerTimeoutSeconds(d, act, ctx.cib);
      if (worst <= allowed.seconds) continue;
      out.push(
        finding(
          "timeout-device",
          deviceSubject(d.id),
          `its agent may take up to ${worst} s to ${act === "on" ? "switch on" : act} (${act === "on" ? "" : "delay + "}login/request timeout + power_wait + power_timeout${act === "reboot" ? ", off then on" : ""}) but the fencer kills it after ${allowed.seconds} s (${allowed.from}): a slow but working fence is reported failed`,
          { device: d.id, option: `pcmk_${act}_timeout`, seconds: Math.ceil(worst * 1.2) },
        ),
      );
    }
  }
  for (const level of ctx.cib.levels) {
    const devices = level.devices
      .map((id) => ctx.deviceById.get(id))
      .filter((d): d is Primitive => d !== undefined);
    if (devices.length === 0) continue;
    let total = 0;
    let delay = 0;
    // A reboot through a level of several devices is an off of each, then an on of each.
    const acts: FenceAction[] =
      action === "off" ? ["off"] : devices.length > 1 ? ["off", "on"] : ["reboot"];
    for (const d of devices) {
      for (const act of acts)
        total += Math.min(agentWorstSeconds(d, act), fencerTimeoutSeconds(d, act, ctx.cib).seconds);
      // The agent's own `delay` is in its worst case already; the fencer's delays come before it.
      for (const n of levelNodes(ctx, level)) {
        const x = delayOf(d, n);
        delay = Math.max(delay, x.pcmkBaseSeconds + x.randomMaxSeconds);
      }
    }
    total += delay;
    if (total > stonithTimeout) {
      out.push(
        finding(
          "timeout-level",
          levelSubject(level),
          `${levelName(level)} may need ${Math.ceil(total)} s (${devices.map((d) => d.id).join(" then ")}${delay > 0 ? `, plus ${delay} s of fencing delay` : ""}) but stonith-timeout is ${stonithTimeout} s: the fencing request can time out while the level is still working`,
          { seconds: Math.ceil(total * 1.2) },
        ),
      );
    }
  }
  return out;
};
