/**
 * The users every lab BMC has (ipmi_sim, the scripted RMCP+ BMC, pyghmi's BMC), so that a test
 * logs in to any of them the same way. Passwords are the lab's own, never real ones.
 */

export type Privilege = "callback" | "user" | "operator" | "admin";

export interface LabUser {
  /** 1-16 characters, no quotes or whitespace. */
  name: string;
  /** 1-20 characters (IPMI 1.5 uses only the first 16), no quotes. */
  password: string;
  /** Highest privilege the user may take. */
  privilege: Privilege;
}

/** May do everything, including Chassis Control. */
export const ADMIN_USER: Readonly<LabUser> = Object.freeze({
  name: "admin",
  password: "secret",
  privilege: "admin",
});
/** Operator privilege: enough for Chassis Control. */
export const OPERATOR_USER: Readonly<LabUser> = Object.freeze({
  name: "operator",
  password: "opsecret",
  privilege: "operator",
});
/** User privilege: may read status; Chassis Control answers 0xD4. */
export const VIEWER_USER: Readonly<LabUser> = Object.freeze({
  name: "viewer",
  password: "viewsecret",
  privilege: "user",
});
/** The users every lab BMC has unless told otherwise (IPMI user ids 2, 3, 4). */
export const LAB_USERS: readonly Readonly<LabUser>[] = Object.freeze([
  ADMIN_USER,
  OPERATOR_USER,
  VIEWER_USER,
]);

/** IPMI privilege level numbers (callback 1 … administrator 4). */
export const PRIVILEGE_LEVEL: Readonly<Record<Privilege, number>> = Object.freeze({
  callback: 1,
  user: 2,
  operator: 3,
  admin: 4,
});
