/** `@co3chain/sdk`: ABIs, EIP-712 builders, the typed /v1 client and event helpers of co3chain. */
export * from "./client.js";
export * from "./events.js";
export * as typed from "./typed.js";
export { Support, toMicrodegrees, voteCommitment, type Domain, type Domains } from "./typed.js";
export * from "./generated/abis.js";
export type * as api from "./generated/api.js";
export { ROUTE_KEYS, type RouteKey, type Routes } from "./generated/api.js";
