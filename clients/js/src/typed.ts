/**
 * EIP-712 typed data of every gasless action of co3chain, byte-identical to what the contracts (votes, spends,
 * delegations) and the oracle (device check-ins and social contributions) verify.
 *
 * Why builders instead of raw objects: the type lists and domain names must match the Python side exactly
 * (co3chain/contracts/typed_data.py, governance_typed_data.py, co3chain/oracle/device.py); a builder makes a
 * typo a compile error. Domains come from `GET /v1/meta` (see {@link Domains}), never from constants, so one
 * app works on every deployment. Every quantity is an integer (bigint for uint256, numbers in fixed units for
 * positions and times) — never a float — so every language signs the same bytes.
 */
import { encodeAbiParameters, keccak256, toHex, type Address, type Hex, type TypedDataDomain } from "viem";

export const EIP712_DOMAIN = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
] as const;

export const BALLOT = [
  { name: "proposalId", type: "uint256" },
  { name: "support", type: "uint8" },
  { name: "voter", type: "address" },
  { name: "nonce", type: "uint256" },
] as const;

export const COMMITMENT = [
  { name: "proposalId", type: "uint256" },
  { name: "commitment", type: "bytes32" },
  { name: "voter", type: "address" },
  { name: "nonce", type: "uint256" },
] as const;

export const DELEGATION = [
  { name: "delegatee", type: "address" },
  { name: "nonce", type: "uint256" },
  { name: "expiry", type: "uint256" },
] as const;

export const SPEND = [
  { name: "owner", type: "address" },
  { name: "service", type: "address" },
  { name: "amount", type: "uint256" },
  { name: "ref", type: "bytes32" },
  { name: "nonce", type: "uint256" },
  { name: "deadline", type: "uint256" },
] as const;

export const CHECK_IN = [
  { name: "eventId", type: "string" },
  { name: "citizen", type: "address" },
  { name: "areaId", type: "uint256" },
  { name: "activityId", type: "uint256" },
  { name: "latE6", type: "int64" },
  { name: "lonE6", type: "int64" },
  { name: "accuracyMm", type: "uint32" },
  { name: "timestampMs", type: "uint64" },
] as const;

export const SOCIAL_CONTRIBUTION = [
  { name: "eventId", type: "string" },
  { name: "citizen", type: "address" },
  { name: "kind", type: "string" },
  { name: "areaId", type: "uint256" },
  { name: "activityId", type: "uint256" },
  { name: "timestampMs", type: "uint64" },
  { name: "evidenceHash", type: "bytes32" },
  { name: "hasLocation", type: "bool" },
  { name: "latE6", type: "int64" },
  { name: "lonE6", type: "int64" },
  { name: "accuracyMm", type: "uint32" },
] as const;

/** `ParticipatoryBudget.castBallotBySig`: `selection` is a bitmask of approved projects (bit i = project i). */
export const BUDGET_BALLOT = [
  { name: "roundId", type: "uint256" },
  { name: "selection", type: "uint256" },
  { name: "voter", type: "address" },
  { name: "nonce", type: "uint256" },
] as const;

/**
 * `KeyRecovery.cancelBySig`: the old key of a citizen stops a recovery of its identity to another key. Bound to
 * one recovery id and the old key's nonce (`GET /v1/recoveries/{id}` → `cancelNonce`), with a deadline.
 */
export const CANCEL_RECOVERY = [
  { name: "recoveryId", type: "uint256" },
  { name: "oldAccount", type: "address" },
  { name: "nonce", type: "uint256" },
  { name: "deadline", type: "uint256" },
] as const;

/** Name and version of the budget ballot domain (co3chain/budget/typed_data.py); not one of the meta domains. */
export const BUDGET_DOMAIN_NAME = "CO3 ParticipatoryBudget";
export const BUDGET_DOMAIN_VERSION = "1";

/**
 * `CitizenInitiatives` messages (co3chain/initiative/typed_data.py). `nonce` is `nonces(signer, key)` with key 0
 * for a draft, else the initiative id; `deadline` is the last block timestamp the signature is valid at.
 */
export const INITIATIVE_SUPPORT = [
  { name: "initiativeId", type: "uint256" },
  { name: "versionHash", type: "bytes32" },
  { name: "supporter", type: "address" },
  { name: "nonce", type: "uint256" },
  { name: "deadline", type: "uint256" },
] as const;

export const INITIATIVE_DRAFT = [
  { name: "contentHash", type: "bytes32" },
  { name: "author", type: "address" },
  { name: "nonce", type: "uint256" },
  { name: "deadline", type: "uint256" },
] as const;

export const INITIATIVE_AMEND = [
  { name: "initiativeId", type: "uint256" },
  { name: "contentHash", type: "bytes32" },
  { name: "author", type: "address" },
  { name: "nonce", type: "uint256" },
  { name: "deadline", type: "uint256" },
] as const;

export const INITIATIVE_OPEN = [
  { name: "initiativeId", type: "uint256" },
  { name: "versionHash", type: "bytes32" },
  { name: "author", type: "address" },
  { name: "nonce", type: "uint256" },
  { name: "deadline", type: "uint256" },
] as const;

/** Name and version of the citizen-initiative domain; not one of the meta domains. */
export const INITIATIVE_DOMAIN_NAME = "CO3 CitizenInitiatives";
export const INITIATIVE_DOMAIN_VERSION = "1";
/** `LiquidDelegation.delegateBySig`: `scope` 0 = global delegation, else a commoning-area id. */
export const LIQUID_DELEGATE = [
  { name: "delegator", type: "address" },
  { name: "scope", type: "uint256" },
  { name: "delegatee", type: "address" },
  { name: "nonce", type: "uint256" },
  { name: "expiry", type: "uint256" },
] as const;

/** `LiquidDelegation.undelegateBySig`: revoke the delegation of `scope`. */
export const LIQUID_UNDELEGATE = [
  { name: "delegator", type: "address" },
  { name: "scope", type: "uint256" },
  { name: "nonce", type: "uint256" },
  { name: "expiry", type: "uint256" },
] as const;

/** Name and version of the liquid-delegation domain (co3chain/delegation/typed_data.py). */
export const LIQUID_DELEGATION_DOMAIN_NAME = "CO3 Liquid Delegation";
export const LIQUID_DELEGATION_DOMAIN_VERSION = "1";

/** Every primary type by name (what `/v1/meta` lists under `eip712.types`). */
export const TYPES = {
  Ballot: BALLOT, Commitment: COMMITMENT, Delegation: DELEGATION, Spend: SPEND, CheckIn: CHECK_IN,
  SocialContribution: SOCIAL_CONTRIBUTION, CancelRecovery: CANCEL_RECOVERY,
} as const;

export interface Domain extends TypedDataDomain {
  name: string;
  version: string;
  chainId: number;
  verifyingContract: Address;
}

/** The signing domains of a deployment, as served by `GET /v1/meta` (`eip712.domains`). */
export interface Domains {
  governance: Domain;
  token: Domain;
  attestation: Domain;
  device: Domain;
  /** `KeyRecovery` ("CO3 KeyRecovery", "1"), on deployments with lost-key recovery. */
  recovery?: Domain;
}

export enum Support { Against = 0, For = 1, Abstain = 2 }

function uint(name: string, value: bigint | number | string, bits: number): bigint {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`${name}: ${v} does not fit in uint${bits}`);
  return v;
}

function int(name: string, value: number, bits: number, min?: number, max?: number): number {
  if (!Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer in fixed units (got ${value}); no floats are signed`);
  }
  const lim = 2 ** (bits - 1);
  if (value < (min ?? -lim) || value > (max ?? lim - 1)) throw new RangeError(`${name}: ${value} out of range`);
  return value;
}

function support(value: number): number {
  if (value !== 0 && value !== 1 && value !== 2) throw new RangeError(`support must be 0, 1 or 2 (got ${value})`);
  return value;
}

export function ballot(domain: Domain, m: { proposalId: bigint | string | number; support: Support | number;
  voter: Address; nonce: bigint | string | number }) {
  return {
    domain, types: { Ballot: BALLOT }, primaryType: "Ballot" as const,
    message: { proposalId: uint("proposalId", m.proposalId, 256), support: support(m.support), voter: m.voter,
      nonce: uint("nonce", m.nonce, 256) },
  };
}

export function commitment(domain: Domain, m: { proposalId: bigint | string | number; commitment: Hex;
  voter: Address; nonce: bigint | string | number }) {
  return {
    domain, types: { Commitment: COMMITMENT }, primaryType: "Commitment" as const,
    message: { proposalId: uint("proposalId", m.proposalId, 256), commitment: m.commitment, voter: m.voter,
      nonce: uint("nonce", m.nonce, 256) },
  };
}

export function delegation(domain: Domain, m: { delegatee: Address; nonce: bigint | string | number;
  expiry: bigint | string | number }) {
  return {
    domain, types: { Delegation: DELEGATION }, primaryType: "Delegation" as const,
    message: { delegatee: m.delegatee, nonce: uint("nonce", m.nonce, 256), expiry: uint("expiry", m.expiry, 256) },
  };
}

export function spend(domain: Domain, m: { owner: Address; service: Address; amount: bigint | string | number;
  ref: Hex; nonce: bigint | string | number; deadline: bigint | string | number }) {
  return {
    domain, types: { Spend: SPEND }, primaryType: "Spend" as const,
    message: { owner: m.owner, service: m.service, amount: uint("amount", m.amount, 256), ref: m.ref,
      nonce: uint("nonce", m.nonce, 256), deadline: uint("deadline", m.deadline, 256) },
  };
}

/** What a device signs for a check-in: position in microdegrees, accuracy in millimetres, time in milliseconds. */
export interface CheckInFields {
  eventId: string;
  citizen: Address;
  areaId: bigint | number;
  activityId: bigint | number;
  latE6: number;
  lonE6: number;
  accuracyMm: number;
  timestampMs: number;
}

export function checkIn(domain: Domain, m: CheckInFields) {
  return {
    domain, types: { CheckIn: CHECK_IN }, primaryType: "CheckIn" as const,
    message: {
      eventId: m.eventId, citizen: m.citizen, areaId: uint("areaId", m.areaId, 256),
      activityId: uint("activityId", m.activityId, 256),
      latE6: BigInt(int("latE6", m.latE6, 64, -90_000_000, 90_000_000)),
      lonE6: BigInt(int("lonE6", m.lonE6, 64, -180_000_000, 180_000_000)),
      accuracyMm: int("accuracyMm", m.accuracyMm, 33, 0, 2 ** 32 - 1),
      timestampMs: BigInt(int("timestampMs", m.timestampMs, 65, 0, Number.MAX_SAFE_INTEGER)),
    },
  };
}

export type SocialKind = "post" | "initiative_joined" | "event_attended";

export interface SocialFields {
  eventId: string;
  citizen: Address;
  kind: SocialKind;
  areaId: bigint | number;
  activityId: bigint | number;
  timestampMs: number;
  /** keccak256 of the evidence (the source's evidence_hash, else keccak256 of the evidence URL's UTF-8). */
  evidenceHash: Hex;
  location?: { latE6: number; lonE6: number; accuracyMm?: number };
}

/** A citizen's support of a social contribution (post, initiative joined, event attended). */
export function socialContribution(domain: Domain, m: SocialFields) {
  const loc = m.location;
  return {
    domain, types: { SocialContribution: SOCIAL_CONTRIBUTION }, primaryType: "SocialContribution" as const,
    message: {
      eventId: m.eventId, citizen: m.citizen, kind: m.kind, areaId: uint("areaId", m.areaId, 256),
      activityId: uint("activityId", m.activityId, 256),
      timestampMs: BigInt(int("timestampMs", m.timestampMs, 65, 0, Number.MAX_SAFE_INTEGER)),
      evidenceHash: m.evidenceHash, hasLocation: loc !== undefined,
      latE6: BigInt(loc ? int("latE6", loc.latE6, 64, -90_000_000, 90_000_000) : 0),
      lonE6: BigInt(loc ? int("lonE6", loc.lonE6, 64, -180_000_000, 180_000_000) : 0),
      accuracyMm: loc?.accuracyMm ?? 0,
    },
  };
}

/**
 * The signing domain of a deployment's `ParticipatoryBudget` (its own domain name, so a budget ballot can never
 * be replayed on governance). Take `chainId` and the address from `/v1/meta` (`contracts.ParticipatoryBudget`).
 */
export function budgetDomain(chainId: number, verifyingContract: Address): Domain {
  return { name: BUDGET_DOMAIN_NAME, version: BUDGET_DOMAIN_VERSION, chainId, verifyingContract };
}

/** Bitmask of approved project indices (0..31), as `BudgetBallot.selection` carries it. */
export function selectionMask(projects: Iterable<number>): bigint {
  let mask = 0n;
  for (const i of projects) {
    if (!Number.isInteger(i) || i < 0 || i >= 32) throw new RangeError(`project index must be 0..31 (got ${i})`);
    mask |= 1n << BigInt(i);
  }
  return mask;
}

/** A citizen's budget ballot approving the projects in `selection`, signed for `castBallotBySig`. */
export function budgetBallot(domain: Domain, m: { roundId: bigint | string | number;
  selection: bigint | string | number; voter: Address; nonce: bigint | string | number }) {
  return {
    domain, types: { BudgetBallot: BUDGET_BALLOT }, primaryType: "BudgetBallot" as const,
    message: { roundId: uint("roundId", m.roundId, 256), selection: uint("selection", m.selection, 256),
      voter: m.voter, nonce: uint("nonce", m.nonce, 256) },
  };
}

/** The old key's `CancelRecovery` of recovery `recoveryId` (relay it with `Co3Client.relayCancelRecovery`). */
export function cancelRecovery(domain: Domain, m: { recoveryId: bigint | string | number; oldAccount: Address;
  nonce: bigint | string | number; deadline: bigint | string | number }) {
  return {
    domain, types: { CancelRecovery: CANCEL_RECOVERY }, primaryType: "CancelRecovery" as const,
    message: { recoveryId: uint("recoveryId", m.recoveryId, 256), oldAccount: m.oldAccount,
      nonce: uint("nonce", m.nonce, 256), deadline: uint("deadline", m.deadline, 256) },
  };
}

/**
 * The signing domain of a deployment's `LiquidDelegation` (liquid delegation of one-citizen-one-vote and reputation
 * votes; not the token's ERC20Votes `delegation`). Take `chainId` and the address from `/v1/meta`
 * (`contracts.LiquidDelegation`).
 */
export function liquidDelegationDomain(chainId: number, verifyingContract: Address): Domain {
  return { name: LIQUID_DELEGATION_DOMAIN_NAME, version: LIQUID_DELEGATION_DOMAIN_VERSION, chainId, verifyingContract };
}

/** A citizen's liquid delegation of its vote in `scope` (0 = global, else an area id) to `delegatee`. */
export function liquidDelegate(domain: Domain, m: { delegator: Address; scope: bigint | string | number;
  delegatee: Address; nonce: bigint | string | number; expiry: bigint | string | number }) {
  return {
    domain, types: { Delegate: LIQUID_DELEGATE }, primaryType: "Delegate" as const,
    message: { delegator: m.delegator, scope: uint("scope", m.scope, 256), delegatee: m.delegatee,
      nonce: uint("nonce", m.nonce, 256), expiry: uint("expiry", m.expiry, 256) },
  };
}

/** A citizen's revocation of its liquid delegation in `scope`. */
export function liquidUndelegate(domain: Domain, m: { delegator: Address; scope: bigint | string | number;
  nonce: bigint | string | number; expiry: bigint | string | number }) {
  return {
    domain, types: { Undelegate: LIQUID_UNDELEGATE }, primaryType: "Undelegate" as const,
    message: { delegator: m.delegator, scope: uint("scope", m.scope, 256), nonce: uint("nonce", m.nonce, 256),
      expiry: uint("expiry", m.expiry, 256) },
  };
}

/** `keccak256(abi.encode(proposalId, voter, support, salt))`, as `CO3Governance.voteCommitment`. */
export function voteCommitment(proposalId: bigint | string | number, voter: Address, supportValue: number,
  salt: Hex): Hex {
  return keccak256(encodeAbiParameters(
    [{ type: "uint256" }, { type: "address" }, { type: "uint8" }, { type: "bytes32" }],
    [uint("proposalId", proposalId, 256), voter, support(supportValue), salt]));
}

/** Degrees (as a GPS gives them) to the signed integer unit, rounding once, here, in one documented way. */
export function toMicrodegrees(degrees: number): number {
  return Math.round(degrees * 1e6);
}

/**
 * The signing domain of a deployment's `CitizenInitiatives` (its own name: a support can never be replayed as a
 * vote). Take `chainId` and the address from `/v1/meta` (`contracts.CitizenInitiatives`).
 */
export function initiativeDomain(chainId: number, verifyingContract: Address): Domain {
  return { name: INITIATIVE_DOMAIN_NAME, version: INITIATIVE_DOMAIN_VERSION, chainId, verifyingContract };
}

type Uint = bigint | string | number;

/** A citizen's support of an initiative's version `versionHash`, signed for `supportBySig`. */
export function initiativeSupport(domain: Domain, m: { initiativeId: Uint; versionHash: Hex; supporter: Address;
  nonce: Uint; deadline: Uint }) {
  return {
    domain, types: { SupportInitiative: INITIATIVE_SUPPORT }, primaryType: "SupportInitiative" as const,
    message: { initiativeId: uint("initiativeId", m.initiativeId, 256), versionHash: bytes32("versionHash", m.versionHash),
      supporter: m.supporter, nonce: uint("nonce", m.nonce, 256), deadline: uint("deadline", m.deadline, 256) },
  };
}

/** The author's draft of content hashing to `contentHash` ({@link initiativeContentHash}), for `draftBySig`. */
export function initiativeDraft(domain: Domain, m: { contentHash: Hex; author: Address; nonce: Uint; deadline: Uint }) {
  return {
    domain, types: { DraftInitiative: INITIATIVE_DRAFT }, primaryType: "DraftInitiative" as const,
    message: { contentHash: bytes32("contentHash", m.contentHash), author: m.author, nonce: uint("nonce", m.nonce, 256),
      deadline: uint("deadline", m.deadline, 256) },
  };
}

/** The author's amendment of a draft, for `amendBySig`. */
export function initiativeAmend(domain: Domain, m: { initiativeId: Uint; contentHash: Hex; author: Address; nonce: Uint;
  deadline: Uint }) {
  return {
    domain, types: { AmendInitiative: INITIATIVE_AMEND }, primaryType: "AmendInitiative" as const,
    message: { initiativeId: uint("initiativeId", m.initiativeId, 256),
      contentHash: bytes32("contentHash", m.contentHash), author: m.author, nonce: uint("nonce", m.nonce, 256),
      deadline: uint("deadline", m.deadline, 256) },
  };
}

/** The author's opening of version `versionHash` for supports, for `openBySig`. */
export function initiativeOpen(domain: Domain, m: { initiativeId: Uint; versionHash: Hex; author: Address; nonce: Uint;
  deadline: Uint }) {
  return {
    domain, types: { OpenInitiative: INITIATIVE_OPEN }, primaryType: "OpenInitiative" as const,
    message: { initiativeId: uint("initiativeId", m.initiativeId, 256), versionHash: bytes32("versionHash", m.versionHash),
      author: m.author, nonce: uint("nonce", m.nonce, 256), deadline: uint("deadline", m.deadline, 256) },
  };
}

/** One version of an initiative, as `CitizenInitiatives.Content`. */
export interface InitiativeContent {
  textHash: Hex;
  title: string;
  areaId?: Uint;
  electorate?: Uint;
  mode?: number;
  votingPeriod: Uint;
  actions?: { target: Address; value?: Uint; calldata?: Hex }[];
}

const ZERO32 = ("0x" + "00".repeat(32)) as Hex;

/** `CitizenInitiatives.hashActions`: keccak256(abi.encode(targets, values, calldatas)), zero for no actions. */
export function initiativeActionsHash(actions: InitiativeContent["actions"] = []): Hex {
  if (actions.length === 0) return ZERO32;
  return keccak256(encodeAbiParameters([{ type: "address[]" }, { type: "uint256[]" }, { type: "bytes[]" }],
    [actions.map((a) => a.target), actions.map((a) => uint("value", a.value ?? 0, 256)),
      actions.map((a) => a.calldata ?? "0x")]));
}

/** `CitizenInitiatives.contentHash`: the version hash the author signs in a draft or an amendment. */
export function initiativeContentHash(c: InitiativeContent): Hex {
  const mode = c.mode ?? 0;
  if (mode !== 0 && mode !== 1 && mode !== 2) throw new RangeError(`mode must be 0, 1 or 2 (got ${mode})`);
  return keccak256(encodeAbiParameters(
    [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "uint256" }, { type: "uint8" },
      { type: "uint64" }, { type: "bytes32" }],
    [bytes32("textHash", c.textHash), keccak256(toHex(c.title)), uint("areaId", c.areaId ?? 0, 256),
      uint("electorate", c.electorate ?? 0, 256), mode, uint("votingPeriod", c.votingPeriod, 48),
      initiativeActionsHash(c.actions)]));
}

function bytes32(name: string, value: Hex): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new RangeError(`${name} must be 0x + 64 hex digits (got ${value})`);
  return value;
}
