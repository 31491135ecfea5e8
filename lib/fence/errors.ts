import { KvmhaError } from "../errors.js";

/** Exit codes of the fence-agent API. */
export const FenceExit = {
  success: 0,
  failure: 1,
  /** `status` when the target is off. */
  statusOff: 2,
} as const;

/** A fencing operation failed: the device was unreachable, refused, or the state never came. */
export class FenceFailure extends KvmhaError {
  readonly exitCode = FenceExit.failure;
}

/** The password script failed; its output is never shown (it may be the secret itself). */
export class PasswordScriptError extends KvmhaError {
  readonly exitCode = FenceExit.failure;
}
