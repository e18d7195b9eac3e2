/**
 * Typed client of the co3chain HTTP API (`/v1`), with the citizen-side signing of every gasless action.
 *
 * Why the SDK signs: the API relays but never holds a citizen's key. `client.vote(account, id, Support.For)`
 * reads the nonce, builds the `Ballot` in the deployment's governance domain (from `/v1/meta`), asks the
 * account to sign it (a viem local account, or any object with `address` and `signTypedData`), and posts it to
 * `/v1/relay/vote`; the relayer pays the gas. Works unchanged in Node ≥ 18 and browsers (fetch, WebCrypto).
 */
import { keccak256, toHex, type Address, type Hex } from "viem";
import type * as api from "./generated/api.js";
import type { RouteKey } from "./generated/api.js";
import * as typed from "./typed.js";
import type { Domain, Domains } from "./typed.js";
import { abis, type ContractName } from "./generated/abis.js";

/** Anything that signs EIP-712 typed data for one address (viem's `privateKeyToAccount(...)` is one). */
export interface TypedDataSigner {
  address: Address;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  signTypedData(args: any): Promise<Hex>;
}

/** The self-description of a deployment served at `GET /v1/meta`. */
export interface Meta {
  apiVersion: string;
  chainId: number;
  contracts: Record<string, { address: Address; abiHash: Hex }>;
  eip712: {
    domains: Domains;
    types: Record<string, { name: string; type: string }[]>;
    actions: Record<string, { primaryType: string; domain: keyof Domains; submit: string }>;
  };
  units: Record<string, string>;
  oracle: boolean;
}

/** The JSON body of an AR check-in webhook (`POST /v1/oracle/webhooks/ar/checkin`). */
export interface CheckInBody {
  event_id: string;
  citizen: Address;
  area_id: number;
  activity_id: number;
  lat_e6: number;
  lon_e6: number;
  accuracy_mm: number;
  timestamp_ms: number;
  device_signature: Hex;
  device_signed?: { domain: Record<string, unknown>; message: Record<string, unknown> };
}

/** The JSON body of a social-network webhook (`POST /v1/oracle/webhooks/social/event`). */
export interface SocialBody {
  event_id: string;
  type: typed.SocialKind;
  citizen: Address;
  area_id: number;
  activity_id: number;
  timestamp_ms: number;
  evidence_url: string;
  evidence_hash?: Hex;
  lat_e6?: number;
  lon_e6?: number;
  accuracy_mm?: number;
  device_signature?: Hex;
}

/** A webhook source's credentials (only on the source's server: never ship a secret to a browser or phone). */
export interface WebhookSource {
  name: string;
  secret: string;
}

export interface WebhookAnswer {
  attestation_id: Hex;
  state: string;
  duplicate: boolean;
}

/** The API answered with an error body (`{"error": {"code", "message"}}`) or could not be reached. */
export class Co3ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(`${status} ${code}: ${message}`);
    this.name = "Co3ApiError";
  }
}

export interface SseEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

export interface ClientOptions {
  /** PA API key (`X-API-Key`): only for PA back offices, never in a citizen app. */
  apiKey?: string;
  fetch?: typeof fetch;
}

/**
 * Every API route mapped to the method that calls it. A `Record` over the generated `RouteKey`: when the
 * API grows a route and `npm run gen` regenerates the types, the build fails until the route is mapped here.
 * Routes that are deliberately not client calls say why.
 */
export const ROUTE_METHODS: Record<RouteKey, keyof Co3Client | `not-a-client-call: ${string}`> = {
  "GET /v1/activities/{activity_id}": "activity",
  "GET /v1/areas": "areas",
  "POST /v1/areas": "createArea",
  "GET /v1/areas/{area_id}": "area",
  "GET /v1/areas/{area_id}/activities": "areaActivities",
  "POST /v1/areas/{area_id}/activities": "createActivity",
  "PUT /v1/areas/{area_id}/geometry": "uploadGeometry",
  "GET /v1/attestations": "attestations",
  "GET /v1/attestations/{attestation_id}": "attestation",
  "POST /v1/citizens": "registerCitizen",
  "GET /v1/citizens/{address}": "citizen",
  "GET /v1/citizens/{address}/attestations": "citizenAttestations",
  "GET /v1/deployment": "deployment",
  "GET /v1/events": "events",
  "GET /v1/health": "health",
  "GET /v1/meta": "meta",
  "GET /v1/oracle/events": "oracleEvents",
  "GET /v1/oracle/events/{attestation_id}": "oracleEvent",
  "GET /v1/oracle/events/{attestation_id}/status": "oracleEventStatus",
  "GET /v1/oracle/rejected": "oracleRejected",
  "POST /v1/oracle/sign": "not-a-client-call: co-signing between oracle operators (co3chain.oracle)",
  "GET /v1/oracle/status": "oracleStatus",
  "POST /v1/oracle/webhooks/ar/checkin": "sendCheckIn",
  "POST /v1/oracle/webhooks/social/event": "sendSocial",
  "POST /v1/privacy/erase": "privacyErase",
  "GET /v1/privacy/export": "privacyExport",
  "GET /v1/proposals": "proposals",
  "POST /v1/proposals": "createProposal",
  "GET /v1/proposals/{proposal_id}": "proposal",
  "GET /v1/proposals/{proposal_id}/voters/{address}": "voterStatus",
  "GET /v1/proposals/{proposal_id}/votes": "proposalVotes",
  "POST /v1/relay/commit": "relayCommit",
  "POST /v1/relay/delegate": "relayDelegate",
  "POST /v1/relay/reveal": "relayReveal",
  "POST /v1/relay/spend": "relaySpend",
  "POST /v1/relay/vote": "relayVote",
  "GET /v1/tx/{tx_hash}": "tx",
  "POST /v1/activities/{activity_id}/close": "closeActivity",
  "POST /v1/areas/{area_id}/close": "closeArea",
  "POST /v1/citizens/{address}/renew": "renewCitizen",
  "POST /v1/citizens/{address}/revoke": "revokeCitizen",
  "POST /v1/proposals/{proposal_id}/cancel": "cancelProposal",
  "GET /v1/services/{address}": "service",
  "POST /v1/services/{address}/council-call": "serviceCouncilCall",
  "GET /v1/services/{address}/statement": "serviceStatement",
  "POST /v1/oracle-signers/council-call": "oracleSignersCouncilCall",
  "GET /v1/budget/rounds": "budgetRounds",
  "POST /v1/budget/rounds": "createBudgetRound",
  "GET /v1/budget/rounds/{round_id}": "budgetRound",
  "POST /v1/budget/rounds/{round_id}/finalize": "finalizeBudgetRound",
  "GET /v1/budget/rounds/{round_id}/projects/{index}": "budgetProject",
  "POST /v1/budget/rounds/{round_id}/projects/{index}/status": "updateBudgetProject",
  "GET /v1/budget/rounds/{round_id}/voters/{voter}": "budgetVoterStatus",
  "GET /v1/budget/rounds/{round_id}/history": "budgetRoundHistory",
  "GET /v1/budget/treasury": "treasury",
  "POST /v1/relay/budget-ballot": "relayBudgetBallot",
  "GET /v1/ballot/elections/{election_id}": "secretElection",
  "GET /v1/ballot/elections/{election_id}/voters/{voter}": "secretVoterState",
  "POST /v1/ballot/relay": "relaySecretBallot",
  "GET /v1/initiatives": "initiatives",
  "GET /v1/initiatives/{initiative_id}": "initiative",
  "GET /v1/initiatives/{initiative_id}/supporters/{supporter}": "initiativeSupporterStatus",
  "GET /v1/initiatives/{initiative_id}/supports": "initiativeSupports",
  "GET /v1/initiatives/nonces/{account}": "initiativeNonce",
  "GET /v1/initiatives/thresholds/{electorate}": "initiativeThreshold",
  "GET /v1/initiatives/tx/{tx_hash}": "initiativeTx",
  "POST /v1/relay/initiative-amend": "relayInitiativeAmend",
  "POST /v1/relay/initiative-draft": "relayInitiativeDraft",
  "POST /v1/relay/initiative-open": "relayInitiativeOpen",
  "POST /v1/relay/initiative-support": "relayInitiativeSupport",
  "GET /v1/electorates/{electorate}": "electorate",
  "POST /v1/electorates": "defineElectorate",
  "GET /v1/groups/{group_id}": "electoralGroup",
  "POST /v1/groups": "createGroup",
  "POST /v1/groups/{group_id}/members": "addGroupMember",
  "DELETE /v1/groups/{group_id}/members/{address}": "removeGroupMember",
  "GET /v1/citizens/{address}/electorates": "citizenElectorates",
  "GET /v1/proposals/{proposal_id}/electorate": "proposalElectorate",
  "POST /v1/proposals/electorate": "proposeFor",
  "POST /v1/pa-accounts/council-call": "paBindingCouncilCall",
  "GET /v1/recovery/settings": "recoverySettings",
  "GET /v1/recoveries": "recoveries",
  "POST /v1/recoveries": "initiateRecovery",
  "GET /v1/recoveries/{recovery_id}": "recovery",
  "GET /v1/recoveries/{recovery_id}/cancel-typed-data": "recoveryCancelTypedData",
  "POST /v1/recoveries/{recovery_id}/cancel": "relayCancelRecovery",
  "POST /v1/recoveries/{recovery_id}/finalize": "finalizeRecovery",
  "POST /v1/recoveries/{recovery_id}/council-call": "recoveryCouncilCall",
  "GET /v1/delegation/citizens/{address}": "liquidDelegationOf",
  "GET /v1/delegation/proposals/{proposal_id}": "proposalDelegation",
  "GET /v1/delegation/proposals/{proposal_id}/citizens/{address}": "delegatorStatus",
  "POST /v1/relay/delegation": "relayLiquidDelegation",
  "POST /v1/relay/undelegation": "relayLiquidUndelegation",
  "POST /v1/relay/delegation/count/{proposal_id}": "countDelegations",
};

/** An initiative's content as the API's `InitiativeContent` body fields. */
export function initiativeBody(c: typed.InitiativeContent):
  Omit<api.InitiativeDraftRelay, "author" | "nonce" | "deadline" | "signature"> {
  return {
    textHash: c.textHash, title: c.title, areaId: BigInt(c.areaId ?? 0).toString(),
    electorate: BigInt(c.electorate ?? 0).toString(), mode: c.mode ?? 0, votingPeriod: Number(c.votingPeriod),
    actions: (c.actions ?? []).map((a) => ({ target: a.target, value: BigInt(a.value ?? 0).toString(),
      calldata: a.calldata ?? "0x" })),
  };
}

/** `CitizenRegistry.revoke` reason codes (only the code goes on chain: never free text about a person). */
export enum RevocationReason {
  Unspecified = 0, KeyCompromised = 1, EligibilityEnded = 2, CitizenRequest = 3, RegistrationError = 4,
}

type Query = Record<string, string | number | boolean | undefined>;
type Id = bigint | number | string;

const HEX = "0123456789abcdef";

function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`, the `X-CO3-Signature` of a webhook. */
export async function webhookSignature(secret: string, timestamp: number, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await globalThis.crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" },
    false, ["sign"]);
  const mac = await globalThis.crypto.subtle.sign("HMAC", key, enc.encode(`${timestamp}.${body}`));
  return "sha256=" + bytesToHex(new Uint8Array(mac));
}

/** JSON with sorted keys and no spaces: the form `/v1/meta` hashes ABIs in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return "{" + entries.map(([k, v]) => JSON.stringify(k) + ":" + canonicalJson(v)).join(",") + "}";
  }
  return JSON.stringify(value);
}

/** `keccak256` of an ABI's canonical JSON, comparable with `meta.contracts[name].abiHash`. */
export function abiHash(abi: unknown): Hex {
  return keccak256(toHex(canonicalJson(abi)));
}

/** Contracts whose bundled ABI differs from the deployment's (empty: this SDK matches the chain). */
export function abiMismatches(meta: Meta): string[] {
  return Object.entries(meta.contracts)
    .filter(([name, c]) => name in abis && abiHash(abis[name as ContractName]) !== c.abiHash)
    .map(([name]) => name);
}

export class Co3Client {
  readonly baseUrl: string;
  private readonly apiKey?: string;
  private readonly fetchImpl: typeof fetch;
  private metaCache?: Promise<Meta>;

  constructor(baseUrl: string, options: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.apiKey = options.apiKey;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  // ------------------------------------------------------------------ plumbing
  private url(path: string, query?: Query): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.baseUrl + path + (qs ? `?${qs}` : "");
  }

  private async request<T>(method: string, path: string, opts: { body?: unknown; query?: Query;
    raw?: string; headers?: Record<string, string> } = {}): Promise<T> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.apiKey) headers["X-API-Key"] = this.apiKey;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, opts.query), { method, headers, body });
    } catch (err) {
      throw new Co3ApiError(0, "unreachable", `cannot reach the API: ${(err as Error).message}`);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const err = (data as { error?: { code?: string; message?: string }; detail?: unknown } | undefined);
      const code = err?.error?.code ?? "http_error";
      const message = err?.error?.message ?? (typeof err?.detail === "string" ? err.detail : text.slice(0, 500));
      throw new Co3ApiError(res.status, code, message);
    }
    return data as T;
  }

  // ------------------------------------------------------------------ meta
  health(): Promise<api.Health> { return this.request("GET", "/v1/health"); }

  /** The deployment's chain id, addresses, ABI hashes and EIP-712 domains (cached). */
  meta(refresh = false): Promise<Meta> {
    if (!this.metaCache || refresh) {
      this.metaCache = this.request<Meta>("GET", "/v1/meta");
      this.metaCache.catch(() => { this.metaCache = undefined; });
    }
    return this.metaCache;
  }

  deployment(): Promise<Record<string, unknown>> { return this.request("GET", "/v1/deployment"); }

  tx(txHash: Hex): Promise<api.TxStatus> { return this.request("GET", `/v1/tx/${txHash}`); }

  /** Poll `/v1/tx/{hash}` until mined (success or failed). */
  async waitForTx(txHash: Hex, timeoutMs = 60_000, pollMs = 250): Promise<api.TxStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const status = await this.tx(txHash);
        if (status.status !== "pending") return status;
      } catch (err) {
        if (!(err instanceof Co3ApiError) || err.code !== "unknown_transaction") throw err;
      }
      if (Date.now() > deadline) throw new Error(`transaction ${txHash} not mined within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  // ------------------------------------------------------------------ reads
  areas(q: { managingPA?: Address; open?: boolean; limit?: number; offset?: number } = {}): Promise<api.AreaList> {
    return this.request("GET", "/v1/areas", { query: q });
  }
  area(areaId: Id): Promise<api.Area> { return this.request("GET", `/v1/areas/${areaId}`); }
  areaActivities(areaId: Id, q: { limit?: number; offset?: number } = {}): Promise<api.ActivityList> {
    return this.request("GET", `/v1/areas/${areaId}/activities`, { query: q });
  }
  activity(activityId: Id): Promise<api.Activity> { return this.request("GET", `/v1/activities/${activityId}`); }
  citizen(address: Address): Promise<api.Citizen> { return this.request("GET", `/v1/citizens/${address}`); }
  citizenAttestations(address: Address, q: { limit?: number; offset?: number } = {}): Promise<api.AttestationList> {
    return this.request("GET", `/v1/citizens/${address}/attestations`, { query: q });
  }
  proposals(q: { areaId?: number; proposer?: Address; status?: string; limit?: number; offset?: number } = {}):
    Promise<api.ProposalList> { return this.request("GET", "/v1/proposals", { query: q }); }
  proposal(proposalId: Id): Promise<api.Proposal> { return this.request("GET", `/v1/proposals/${proposalId}`); }
  proposalVotes(proposalId: Id, q: { limit?: number; offset?: number } = {}): Promise<api.VoteList> {
    return this.request("GET", `/v1/proposals/${proposalId}/votes`, { query: q });
  }
  voterStatus(proposalId: Id, voter: Address): Promise<api.VoterStatus> {
    return this.request("GET", `/v1/proposals/${proposalId}/voters/${voter}`);
  }
  attestations(q: { subject?: Address; activityId?: number; limit?: number; offset?: number } = {}):
    Promise<api.AttestationList> { return this.request("GET", "/v1/attestations", { query: q }); }
  attestation(attestationId: Hex): Promise<api.Attestation> {
    return this.request("GET", `/v1/attestations/${attestationId}`);
  }

  /** Server-sent events (`/v1/events`) as an async iterator; stops after `limit` events when given. */
  async *events(q: { since?: number; types?: string[]; limit?: number } = {}, signal?: AbortSignal):
    AsyncGenerator<SseEvent> {
    const headers: Record<string, string> = this.apiKey ? { "X-API-Key": this.apiKey } : {};
    const res = await this.fetchImpl(this.url("/v1/events", { since: q.since, types: q.types?.join(","),
      limit: q.limit }), { headers, signal });
    if (!res.ok || !res.body) throw new Co3ApiError(res.status, "http_error", await res.text());
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let fields: Record<string, string> = {};
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, "");
          buffer = buffer.slice(nl + 1);
          if (line === "") {
            if (fields.data !== undefined) {
              yield { id: Number(fields.id ?? 0), type: fields.event ?? "message", data: JSON.parse(fields.data) };
            }
            fields = {};
          } else if (!line.startsWith(":") && line.includes(":")) {
            const i = line.indexOf(":");
            fields[line.slice(0, i)] = line.slice(i + 1).replace(/^ /, "");
          }
        }
      }
    } finally {
      reader.releaseLock();
      await res.body.cancel().catch(() => undefined);
    }
  }

  // ------------------------------------------------------------------ liquid delegation (read)
  /** A citizen's liquid delegations (global, and in `areaId`), the chain its vote follows now, its next nonce. */
  liquidDelegationOf(citizen: Address, areaId: Id = 0): Promise<api.CitizenDelegation> {
    return this.request("GET", `/v1/delegation/citizens/${citizen}`, { query: { areaId: String(areaId) } });
  }
  /** Delegated weight on a proposal: per direct voter, and every counting. */
  proposalDelegation(proposalId: Id): Promise<api.ProposalDelegation> {
    return this.request("GET", `/v1/delegation/proposals/${BigInt(proposalId)}`);
  }
  /** Where a citizen's weight goes on a proposal (counted weight, representative now, chain at the snapshot). */
  delegatorStatus(proposalId: Id, citizen: Address): Promise<api.DelegatorStatus> {
    return this.request("GET", `/v1/delegation/proposals/${BigInt(proposalId)}/citizens/${citizen}`);
  }

  // ------------------------------------------------------------------ participatory budget (read)
  budgetRounds(q: { limit?: number; offset?: number } = {}): Promise<api.RoundList> {
    return this.request("GET", "/v1/budget/rounds", { query: q });
  }
  /** A round with its projects and its result (provisional until finalized). */
  budgetRound(roundId: Id): Promise<api.RoundDetail> { return this.request("GET", `/v1/budget/rounds/${roundId}`); }
  budgetProject(roundId: Id, index: number): Promise<api.Project> {
    return this.request("GET", `/v1/budget/rounds/${roundId}/projects/${index}`);
  }
  /** Whether `voter` may vote in the round, has voted, and the nonce to sign next. */
  budgetVoterStatus(roundId: Id, voter: Address): Promise<api.BudgetVoterStatus> {
    return this.request("GET", `/v1/budget/rounds/${roundId}/voters/${voter}`);
  }
  /** A round's indexed events in chain order: opening, ballots, outcome, project steps and tranches paid. */
  budgetRoundHistory(roundId: Id, q: { limit?: number; offset?: number } = {}): Promise<api.RoundHistory> {
    return this.request("GET", `/v1/budget/rounds/${roundId}/history`, { query: q });
  }
  /** The treasury's balance, unassigned pool and the budgets of `areas` (default: area 0). */
  async treasury(areas: Iterable<Id> = [0]): Promise<api.Treasury> {
    const params = new URLSearchParams();
    for (const a of areas) params.append("area", String(a));
    const qs = params.toString();
    return this.request("GET", "/v1/budget/treasury" + (qs ? `?${qs}` : ""));
  }

  // ------------------------------------------------------------------ secret ballots (read)
  /** Public parameters of a secret election (key, options, window, registrar key, results once tallied). */
  secretElection(electionId: Id): Promise<api.SecretElection> {
    return this.request("GET", `/v1/ballot/elections/${electionId}`);
  }
  /** How many ballots a fresh voting key has cast (a re-vote uses nonce + 1). */
  secretVoterState(electionId: Id, voter: Address): Promise<api.SecretVoterState> {
    return this.request("GET", `/v1/ballot/elections/${electionId}/voters/${voter}`);
  }

  // ------------------------------------------------------------------ citizen initiatives (read)
  initiatives(q: { limit?: number; offset?: number } = {}): Promise<api.InitiativeList> {
    return this.request("GET", "/v1/initiatives", { query: q });
  }
  initiative(initiativeId: Id): Promise<api.InitiativeDetail> {
    return this.request("GET", `/v1/initiatives/${initiativeId}`);
  }
  initiativeSupports(initiativeId: Id, q: { limit?: number; offset?: number } = {}):
    Promise<api.InitiativeSupportList> {
    return this.request("GET", `/v1/initiatives/${initiativeId}/supports`, { query: q });
  }
  initiativeSupporterStatus(initiativeId: Id, supporter: Address): Promise<api.InitiativeSupporterStatus> {
    return this.request("GET", `/v1/initiatives/${initiativeId}/supporters/${supporter}`);
  }
  /** The nonce `account` signs next: key 0 for a draft, else the initiative id. */
  initiativeNonce(account: Address, key: Id = 0): Promise<api.InitiativeNonce> {
    return this.request("GET", `/v1/initiatives/nonces/${account}`, { query: { key: BigInt(key).toString() } });
  }
  initiativeThreshold(electorate: Id): Promise<api.InitiativeThreshold> {
    return this.request("GET", `/v1/initiatives/thresholds/${BigInt(electorate).toString()}`);
  }
  /** What a relayed initiative transaction did once mined: the drafted id, the proposal it created. */
  initiativeTx(txHash: Hex): Promise<api.InitiativeTx> {
    return this.request("GET", `/v1/initiatives/tx/${txHash}`);
  }

  // ------------------------------------------------------------------ oracle (read)
  // Queue counts are open; the event listings name citizens, areas and times, so they need the PA API key.
  oracleStatus(): Promise<Record<string, unknown>> { return this.request("GET", "/v1/oracle/status"); }
  oracleEvents(q: { state?: string; limit?: number } = {}): Promise<Record<string, unknown>[]> {
    return this.request("GET", "/v1/oracle/events", { query: q });
  }
  /** Where one event stands (state, reason, transaction): open to the app that sent it, names nobody. */
  oracleEventStatus(attestationId: Hex): Promise<Record<string, unknown>> {
    return this.request("GET", `/v1/oracle/events/${attestationId}/status`);
  }
  oracleEvent(attestationId: Hex): Promise<Record<string, unknown>> {
    return this.request("GET", `/v1/oracle/events/${attestationId}`);
  }
  oracleRejected(q: { limit?: number } = {}): Promise<Record<string, unknown>[]> {
    return this.request("GET", "/v1/oracle/rejected", { query: q });
  }

  // ------------------------------------------------------------------ raw relay
  relayVote(body: api.VoteRelay): Promise<api.TxAccepted> { return this.request("POST", "/v1/relay/vote", { body }); }
  relayCommit(body: api.CommitRelay): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/relay/commit", { body });
  }
  relayReveal(body: api.RevealRelay): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/relay/reveal", { body });
  }
  relayDelegate(body: api.DelegateRelay): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/relay/delegate", { body });
  }
  relaySpend(body: api.SpendRelay): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/relay/spend", { body });
  }

  relayInitiativeDraft(body: api.InitiativeDraftRelay): Promise<api.InitiativeRelayAccepted> {
    return this.request("POST", "/v1/relay/initiative-draft", { body });
  }
  relayInitiativeAmend(body: api.InitiativeAmendRelay): Promise<api.InitiativeRelayAccepted> {
    return this.request("POST", "/v1/relay/initiative-amend", { body });
  }
  relayInitiativeOpen(body: api.InitiativeOpenRelay): Promise<api.InitiativeRelayAccepted> {
    return this.request("POST", "/v1/relay/initiative-open", { body });
  }
  relayInitiativeSupport(body: api.InitiativeSupportRelay): Promise<api.InitiativeRelayAccepted> {
    return this.request("POST", "/v1/relay/initiative-support", { body });
  }
  relayLiquidDelegation(body: api.DelegationRelay): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/relay/delegation", { body });
  }
  relayLiquidUndelegation(body: api.UndelegationRelay): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/relay/undelegation", { body });
  }
  /** Have the API's relayer count delegations on an Active proposal (all pending ones, or `delegators`). */
  countDelegations(proposalId: Id, delegators?: Address[]): Promise<api.CountAccepted> {
    return this.request("POST", `/v1/relay/delegation/count/${BigInt(proposalId)}`,
      { body: delegators ? { delegators } : {} });
  }

  relayBudgetBallot(body: api.BallotRelay): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/relay/budget-ballot", { body });
  }
  /**
   * Relay an encrypted secret ballot. The body (ciphertexts, proofs, fresh-key signature) is made on the
   * citizen's device by the Python SDK (`Client.prepare_secret_ballot`); this SDK does not encrypt or prove.
   */
  relaySecretBallot(body: api.SecretBallotRelay): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/ballot/relay", { body });
  }

  // ------------------------------------------------------------------ citizen actions (sign locally, relay)
  async domains(): Promise<Domains> { return (await this.meta()).eip712.domains; }

  /** A signed `VoteRelay` body (nonce read from the API unless given). */
  async signVote(account: TypedDataSigner, proposalId: Id, support: typed.Support | number, nonce?: Id):
    Promise<api.VoteRelay> {
    const n = nonce ?? (await this.voterStatus(proposalId, account.address)).nonce;
    const data = typed.ballot((await this.domains()).governance, { proposalId: BigInt(proposalId), support,
      voter: account.address, nonce: BigInt(n) });
    const signature = await account.signTypedData(data);
    return { proposalId: BigInt(proposalId).toString(), support, voter: account.address, nonce: BigInt(n).toString(),
      signature };
  }

  /** Sign an open vote with the citizen's key and relay it; the relayer pays the gas. */
  async vote(account: TypedDataSigner, proposalId: Id, support: typed.Support | number): Promise<api.TxAccepted> {
    return this.relayVote(await this.signVote(account, proposalId, support));
  }

  /** Commit a hidden vote; keep the returned salt: it is needed to reveal. */
  async commit(account: TypedDataSigner, proposalId: Id, support: typed.Support | number, salt?: Hex):
    Promise<{ tx: api.TxAccepted; salt: Hex }> {
    const s = salt ?? toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
    const commitmentHash = typed.voteCommitment(proposalId, account.address, support, s);
    const nonce = (await this.voterStatus(proposalId, account.address)).nonce;
    const data = typed.commitment((await this.domains()).governance, { proposalId: BigInt(proposalId),
      commitment: commitmentHash, voter: account.address, nonce: BigInt(nonce) });
    const signature = await account.signTypedData(data);
    const tx = await this.relayCommit({ proposalId: BigInt(proposalId).toString(), commitment: commitmentHash,
      voter: account.address, nonce: String(nonce), signature });
    return { tx, salt: s };
  }

  /** Reveal a committed vote during the reveal phase (no signature: the salt proves it). */
  reveal(voter: Address, proposalId: Id, support: typed.Support | number, salt: Hex): Promise<api.TxAccepted> {
    return this.relayReveal({ proposalId: BigInt(proposalId).toString(), voter, support, salt });
  }

  /** Delegate the citizen's token voting power (ERC20Votes `Delegation`). */
  async delegate(account: TypedDataSigner, delegatee: Address, expiry: Id, nonce?: Id): Promise<api.TxAccepted> {
    const n = nonce ?? (await this.citizen(account.address)).tokenNonce;
    const data = typed.delegation((await this.domains()).token, { delegatee, nonce: BigInt(n), expiry: BigInt(expiry) });
    const signature = await account.signTypedData(data);
    return this.relayDelegate({ delegator: account.address, delegatee, nonce: BigInt(n).toString(),
      expiry: BigInt(expiry).toString(), signature });
  }

  /** Spend commons tokens at a participating service (`Spend`). */
  async spend(account: TypedDataSigner, service: Address, amount: Id, ref: Hex, deadline: Id, nonce?: Id):
    Promise<api.TxAccepted> {
    const n = nonce ?? (await this.citizen(account.address)).tokenNonce;
    const data = typed.spend((await this.domains()).token, { owner: account.address, service, amount: BigInt(amount),
      ref, nonce: BigInt(n), deadline: BigInt(deadline) });
    const signature = await account.signTypedData(data);
    return this.relaySpend({ owner: account.address, service, amount: BigInt(amount).toString(), ref,
      nonce: BigInt(n).toString(), deadline: BigInt(deadline).toString(), signature });
  }

  /** Sign (liquid) delegation of the citizen's vote in `scope` (0 = global, else an area id) and relay it. */
  async liquidDelegate(account: TypedDataSigner, delegatee: Address, opts: { scope?: Id; expiry: Id; nonce?: Id }):
    Promise<api.TxAccepted> {
    const { domain, nonce } = await this.liquidContext(account.address, opts.nonce);
    const scope = BigInt(opts.scope ?? 0);
    const data = typed.liquidDelegate(domain, { delegator: account.address, scope, delegatee, nonce,
      expiry: BigInt(opts.expiry) });
    const signature = await account.signTypedData(data);
    return this.relayLiquidDelegation({ delegator: account.address, scope: scope.toString(), delegatee,
      nonce: nonce.toString(), expiry: BigInt(opts.expiry).toString(), signature });
  }

  /** Sign the revocation of the citizen's liquid delegation in `scope` and relay it. */
  async liquidUndelegate(account: TypedDataSigner, opts: { scope?: Id; expiry: Id; nonce?: Id }):
    Promise<api.TxAccepted> {
    const { domain, nonce } = await this.liquidContext(account.address, opts.nonce);
    const scope = BigInt(opts.scope ?? 0);
    const data = typed.liquidUndelegate(domain, { delegator: account.address, scope, nonce, expiry: BigInt(opts.expiry) });
    const signature = await account.signTypedData(data);
    return this.relayLiquidUndelegation({ delegator: account.address, scope: scope.toString(),
      nonce: nonce.toString(), expiry: BigInt(opts.expiry).toString(), signature });
  }

  private async liquidContext(citizen: Address, nonce?: Id): Promise<{ domain: typed.Domain; nonce: bigint }> {
    const meta = await this.meta();
    const ld = meta.contracts.LiquidDelegation;
    if (!ld) throw new Co3ApiError(404, "delegation_not_deployed", "this deployment has no LiquidDelegation");
    const n = nonce ?? (await this.liquidDelegationOf(citizen)).nonce;
    return { domain: typed.liquidDelegationDomain(meta.chainId, ld.address), nonce: BigInt(n) };
  }

  /** A signed budget ballot approving `projects` (indices 0..31) in a round (nonce read from the API unless given). */
  async signBudgetBallot(account: TypedDataSigner, roundId: Id, projects: Iterable<number>, nonce?: Id):
    Promise<api.BallotRelay> {
    const n = nonce ?? (await this.budgetVoterStatus(roundId, account.address)).nonce;
    const meta = await this.meta();
    const pb = meta.contracts.ParticipatoryBudget;
    if (!pb) throw new Co3ApiError(404, "budget_not_deployed", "this deployment has no ParticipatoryBudget");
    const selection = typed.selectionMask(projects);
    const data = typed.budgetBallot(typed.budgetDomain(meta.chainId, pb.address), { roundId: BigInt(roundId),
      selection, voter: account.address, nonce: BigInt(n) });
    const signature = await account.signTypedData(data);
    return { roundId: BigInt(roundId).toString(), selection: selection.toString(), voter: account.address,
      nonce: BigInt(n).toString(), signature };
  }

  private async initiativeSigning(account: TypedDataSigner, key: Id, nonce?: Id, deadline?: Id):
    Promise<{ domain: Domain; nonce: bigint; deadline: bigint }> {
    const meta = await this.meta();
    const ci = meta.contracts.CitizenInitiatives;
    if (!ci) throw new Co3ApiError(404, "initiatives_not_deployed", "this deployment has no CitizenInitiatives");
    let n = nonce, d = deadline;
    if (n === undefined || d === undefined) {
      const current = await this.initiativeNonce(account.address, key);
      n ??= current.nonce;
      d ??= current.chainTime + 3600; // signatures live an hour of chain time by default
    }
    return { domain: typed.initiativeDomain(meta.chainId, ci.address), nonce: BigInt(n), deadline: BigInt(d) };
  }

  /** A signed support of the initiative's current version (or `versionHash`, the text the citizen read). */
  async signInitiativeSupport(account: TypedDataSigner, initiativeId: Id, opts: { versionHash?: Hex; nonce?: Id;
    deadline?: Id } = {}): Promise<api.InitiativeSupportRelay> {
    const versionHash = opts.versionHash ?? ((await this.initiative(initiativeId)).versionHash as Hex);
    const s = await this.initiativeSigning(account, initiativeId, opts.nonce, opts.deadline);
    const signature = await account.signTypedData(typed.initiativeSupport(s.domain, { initiativeId: BigInt(initiativeId),
      versionHash, supporter: account.address, nonce: s.nonce, deadline: s.deadline }));
    return { initiativeId: BigInt(initiativeId).toString(), versionHash, supporter: account.address,
      nonce: s.nonce.toString(), deadline: Number(s.deadline), signature };
  }

  /** Sign a support with the citizen's key and relay it; the last support needed sends the initiative to vote. */
  async supportInitiative(account: TypedDataSigner, initiativeId: Id, versionHash?: Hex):
    Promise<api.InitiativeRelayAccepted> {
    return this.relayInitiativeSupport(await this.signInitiativeSupport(account, initiativeId, { versionHash }));
  }

  /** Sign and relay a draft; `initiativeTx(txHash)` gives its id once mined. */
  async draftInitiative(account: TypedDataSigner, content: typed.InitiativeContent, opts: { nonce?: Id;
    deadline?: Id } = {}): Promise<api.InitiativeRelayAccepted> {
    const s = await this.initiativeSigning(account, 0, opts.nonce, opts.deadline);
    const signature = await account.signTypedData(typed.initiativeDraft(s.domain, {
      contentHash: typed.initiativeContentHash(content), author: account.address, nonce: s.nonce, deadline: s.deadline }));
    return this.relayInitiativeDraft({ ...initiativeBody(content), author: account.address, nonce: s.nonce.toString(),
      deadline: Number(s.deadline), signature });
  }

  /** Sign and relay an amendment of a draft (author only, before it opens). */
  async amendInitiative(account: TypedDataSigner, initiativeId: Id, content: typed.InitiativeContent,
    opts: { nonce?: Id; deadline?: Id } = {}): Promise<api.InitiativeRelayAccepted> {
    const s = await this.initiativeSigning(account, initiativeId, opts.nonce, opts.deadline);
    const signature = await account.signTypedData(typed.initiativeAmend(s.domain, {
      initiativeId: BigInt(initiativeId), contentHash: typed.initiativeContentHash(content), author: account.address,
      nonce: s.nonce, deadline: s.deadline }));
    return this.relayInitiativeAmend({ ...initiativeBody(content), initiativeId: BigInt(initiativeId).toString(),
      author: account.address, nonce: s.nonce.toString(), deadline: Number(s.deadline), signature });
  }

  /** Sign and relay the opening for supports of the current version (author only). */
  async openInitiative(account: TypedDataSigner, initiativeId: Id, versionHash?: Hex,
    opts: { nonce?: Id; deadline?: Id } = {}): Promise<api.InitiativeRelayAccepted> {
    const version = versionHash ?? ((await this.initiative(initiativeId)).versionHash as Hex);
    const s = await this.initiativeSigning(account, initiativeId, opts.nonce, opts.deadline);
    const signature = await account.signTypedData(typed.initiativeOpen(s.domain, { initiativeId: BigInt(initiativeId),
      versionHash: version, author: account.address, nonce: s.nonce, deadline: s.deadline }));
    return this.relayInitiativeOpen({ initiativeId: BigInt(initiativeId).toString(), versionHash: version,
      author: account.address, nonce: s.nonce.toString(), deadline: Number(s.deadline), signature });
  }

  /** Sign a budget ballot with the citizen's key and relay it; the relayer pays the gas. */
  async voteBudget(account: TypedDataSigner, roundId: Id, projects: Iterable<number>): Promise<api.TxAccepted> {
    return this.relayBudgetBallot(await this.signBudgetBallot(account, roundId, projects));
  }

  /**
   * The device side of a check-in: the citizen's key signs `CheckIn` in the deployment's device domain; the
   * result is the webhook body the AR backend forwards with {@link sendCheckIn} (with `device_signed`, so a
   * mismatch is answered with the first differing field).
   */
  async signCheckIn(account: TypedDataSigner, fields: Omit<typed.CheckInFields, "citizen">): Promise<CheckInBody> {
    const data = typed.checkIn((await this.domains()).device, { ...fields, citizen: account.address });
    const signature = await account.signTypedData(data);
    return {
      event_id: fields.eventId, citizen: account.address, area_id: Number(fields.areaId),
      activity_id: Number(fields.activityId), lat_e6: fields.latE6, lon_e6: fields.lonE6,
      accuracy_mm: fields.accuracyMm, timestamp_ms: fields.timestampMs, device_signature: signature,
      device_signed: { domain: { ...data.domain }, message: { ...fields, citizen: account.address,
        areaId: Number(fields.areaId), activityId: Number(fields.activityId) } },
    };
  }

  /** The citizen's signed support of a social contribution (`SocialContribution`), as a social webhook body. */
  async signSocial(account: TypedDataSigner, fields: Omit<typed.SocialFields, "citizen" | "evidenceHash">
    & { evidenceUrl: string; evidenceHash?: Hex }): Promise<SocialBody> {
    const evidenceHash = fields.evidenceHash ?? keccak256(toHex(fields.evidenceUrl));
    const data = typed.socialContribution((await this.domains()).device, { ...fields, citizen: account.address,
      evidenceHash });
    const signature = await account.signTypedData(data);
    const loc = fields.location;
    return {
      event_id: fields.eventId, type: fields.kind, citizen: account.address, area_id: Number(fields.areaId),
      activity_id: Number(fields.activityId), timestamp_ms: fields.timestampMs, evidence_url: fields.evidenceUrl,
      ...(fields.evidenceHash ? { evidence_hash: fields.evidenceHash } : {}),
      ...(loc ? { lat_e6: loc.latE6, lon_e6: loc.lonE6, ...(loc.accuracyMm !== undefined ?
        { accuracy_mm: loc.accuracyMm } : {}) } : {}),
      device_signature: signature,
    };
  }

  private async webhook(path: string, source: WebhookSource, body: unknown, nowSeconds?: number):
    Promise<WebhookAnswer> {
    const raw = JSON.stringify(body);
    const ts = nowSeconds ?? Math.floor(Date.now() / 1000);
    const headers = { "X-CO3-Source": source.name, "X-CO3-Timestamp": String(ts),
      "X-CO3-Signature": await webhookSignature(source.secret, ts, raw) };
    return this.request("POST", path, { raw, headers });
  }

  /** Source backend: forward a device-signed check-in, authenticated by the source's HMAC secret. */
  sendCheckIn(source: WebhookSource, body: CheckInBody, nowSeconds?: number): Promise<WebhookAnswer> {
    return this.webhook("/v1/oracle/webhooks/ar/checkin", source, body, nowSeconds);
  }

  /** Source backend: forward a social-network event. */
  sendSocial(source: WebhookSource, body: SocialBody, nowSeconds?: number): Promise<WebhookAnswer> {
    return this.webhook("/v1/oracle/webhooks/social/event", source, body, nowSeconds);
  }

  // ------------------------------------------------------------------ PA writes (API key)
  /**
   * Register a citizen: with a ready `identityHash`, or with `identityHash = null` and the raw
   * `identityReference` for an API that holds the consortium identity key and computes the hash itself.
   */
  registerCitizen(
    address: Address,
    identityHash: Hex | null,
    expiresAt: number,
    opts: { identityReference?: string; referenceKind?: string } = {},
  ): Promise<api.TxAccepted> {
    const identity = identityHash !== null ? { identityHash } : { identityReference: opts.identityReference };
    return this.request("POST", "/v1/citizens", {
      body: { address, expiresAt, ...identity, ...(opts.referenceKind ? { referenceKind: opts.referenceKind } : {}) },
    });
  }
  createArea(geometry: Record<string, unknown>, metadataURI = "", managingPA?: Address): Promise<api.AreaCreated> {
    return this.request("POST", "/v1/areas", { body: { geometry, metadataURI, ...(managingPA ? { managingPA } : {}) } });
  }
  uploadGeometry(areaId: Id, geometry: Record<string, unknown>): Promise<api.Area> {
    return this.request("PUT", `/v1/areas/${areaId}/geometry`, { body: { geometry } });
  }
  createActivity(areaId: Id, body: api.ActivityCreate): Promise<api.TxAccepted> {
    return this.request("POST", `/v1/areas/${areaId}/activities`, { body });
  }
  createProposal(body: api.ProposalCreate): Promise<api.ProposalCreated> {
    return this.request("POST", "/v1/proposals", { body });
  }
  // ------------------------------------------------------------------ PA and merchant operations
  /** Revoke a citizen (registrar). */
  revokeCitizen(address: Address, reasonCode: RevocationReason | number): Promise<api.TxAccepted> {
    return this.request("POST", `/v1/citizens/${address}/revoke`, { body: { reasonCode } });
  }
  /** Extend a citizen's registration (registrar). */
  renewCitizen(address: Address, expiresAt: number): Promise<api.TxAccepted> {
    return this.request("POST", `/v1/citizens/${address}/renew`, { body: { expiresAt } });
  }
  /** Cancel a pending proposal this PA created. */
  cancelProposal(proposalId: Id): Promise<api.TxAccepted> {
    return this.request("POST", `/v1/proposals/${proposalId}/cancel`);
  }
  /** Close an area managed by this PA. */
  closeArea(areaId: Id): Promise<api.TxAccepted> { return this.request("POST", `/v1/areas/${areaId}/close`); }
  /** Close an activity in an area managed by this PA. */
  closeActivity(activityId: Id): Promise<api.TxAccepted> {
    return this.request("POST", `/v1/activities/${activityId}/close`);
  }
  /** Whether a service (merchant) accepts commons tokens. */
  service(address: Address): Promise<api.ServiceStatus> { return this.request("GET", `/v1/services/${address}`); }
  /**
   * The council proposal that accepts/removes a service. Nothing is sent: the change belongs to the council's
   * timelock executor; submit `to`/`data` through the council.
   */
  serviceCouncilCall(address: Address, accepted: boolean, burnOnSpend = true): Promise<api.CouncilCall> {
    return this.request("POST", `/v1/services/${address}/council-call`, { body: { accepted, burnOnSpend } });
  }
  /** The council proposal that rotates the oracle signer set (nothing is sent: the council decides). */
  oracleSignersCouncilCall(signers: Address[], threshold: number): Promise<api.CouncilCall> {
    return this.request("POST", "/v1/oracle-signers/council-call", { body: { signers, threshold } });
  }
  /** A merchant's statement for `[from, to)` (unix seconds): every spend, total, burned part. */
  serviceStatement(address: Address, period: { from?: number; to?: number } = {}): Promise<api.Statement> {
    return this.request("GET", `/v1/services/${address}/statement`, { query: { ...period, format: "json" } });
  }
  /** The same statement as CSV text. */
  async serviceStatementCsv(address: Address, period: { from?: number; to?: number } = {}): Promise<string> {
    const res = await this.fetchImpl(this.url(`/v1/services/${address}/statement`, { ...period, format: "csv" }),
      { headers: this.apiKey ? { "X-API-Key": this.apiKey } : {} });
    if (!res.ok) throw new Co3ApiError(res.status, "http_error", await res.text());
    return res.text();
  }

  // ------------------------------------------------------------------ participatory budget (PA, API key)
  /** Open a round (PROPOSER_ROLE): the budget is reserved from the area's treasury budget at once. */
  createBudgetRound(body: api.RoundCreate): Promise<api.RoundCreated> {
    return this.request("POST", "/v1/budget/rounds", { body });
  }
  /** Record the outcome after the vote window (this PA pays the gas). */
  finalizeBudgetRound(roundId: Id): Promise<api.TxAccepted> {
    return this.request("POST", `/v1/budget/rounds/${roundId}/finalize`);
  }
  /** The managing PA reports progress with an evidence hash; each step pays its tranche to the payee. */
  updateBudgetProject(roundId: Id, index: number, state: api.ProjectStatusUpdate["state"], evidenceHash: Hex):
    Promise<api.TxAccepted> {
    return this.request("POST", `/v1/budget/rounds/${roundId}/projects/${index}/status`,
      { body: { state, evidenceHash } });
  }

  // ------------------------------------------------------------------ electorates (docs/electorates.md)
  // Electorates are written "consortium", "pa:N", "group:N", "union:N" or as the uint256 id (decimal string).
  /** Kind, owning PA, groups and eligible size of an electorate (at `at`, default the latest past second). */
  electorate(electorate: string, at?: number): Promise<api.ElectorateInfo> {
    return this.request("GET", `/v1/electorates/${encodeURIComponent(electorate)}`, { query: { at } });
  }
  /** An electoral group and its current members. */
  electoralGroup(groupId: Id): Promise<api.Group> { return this.request("GET", `/v1/groups/${groupId}`); }
  /** The PA and groups of a citizen, and the electorates that include it. */
  citizenElectorates(address: Address): Promise<api.CitizenElectorates> {
    return this.request("GET", `/v1/citizens/${address}/electorates`);
  }
  /** The electorate of a proposal, its size at the snapshot and the quorum (once the snapshot passed). */
  proposalElectorate(proposalId: Id): Promise<api.ProposalElectorate> {
    return this.request("GET", `/v1/proposals/${proposalId}/electorate`);
  }
  /** Create a group of the calling registrar's PA (kind: district, area-residence or association). */
  createGroup(body: api.GroupCreate): Promise<api.TxAccepted> { return this.request("POST", "/v1/groups", { body }); }
  /** Add one of this PA's citizens to one of its groups (registrar). */
  addGroupMember(groupId: Id, address: Address): Promise<api.TxAccepted> {
    return this.request("POST", `/v1/groups/${groupId}/members`, { body: { address } });
  }
  /** Remove one of this PA's citizens from one of its groups (registrar). */
  removeGroupMember(groupId: Id, address: Address): Promise<api.TxAccepted> {
    return this.request("DELETE", `/v1/groups/${groupId}/members/${address}`);
  }
  /** Define the union of groups (ascending ids, one PA, one exclusive kind) as an electorate. */
  defineElectorate(groupIds: number[]): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/electorates", { body: { groupIds } });
  }
  /** A proposal voted by a named electorate (an area proposal's must belong to the area's managing PA). */
  proposeFor(body: api.ProposalForCreate): Promise<api.ProposalCreated> {
    return this.request("POST", "/v1/proposals/electorate", { body });
  }
  /** The council proposal binding an account to a PA (nothing is sent: the council decides). */
  paBindingCouncilCall(account: Address, paId: number): Promise<api.CouncilCall> {
    return this.request("POST", "/v1/pa-accounts/council-call", { body: { account, paId } });
  }
  // ------------------------------------------------------------------ lost-key recovery (docs/recovery.md)
  /** The delay the council set, its bounds, the finalize window and the number of requests so far. */
  recoverySettings(): Promise<api.RecoverySettings> { return this.request("GET", "/v1/recovery/settings"); }
  /** Indexed recovery events (newest first), optionally where `account` is the old or the new key. */
  recoveries(q: { account?: Address; limit?: number } = {}): Promise<api.RecoveryList> {
    return this.request("GET", "/v1/recoveries", { query: q });
  }
  /** One recovery as the contract holds it now (`Pending`, `Cancelled`, `Finalized`, `Expired`). */
  recovery(recoveryId: Id): Promise<api.Recovery> { return this.request("GET", `/v1/recoveries/${recoveryId}`); }
  /** The server-built `CancelRecovery` typed data (for wallets that sign whatever `eth_signTypedData_v4` gets). */
  recoveryCancelTypedData(recoveryId: Id, deadline: number): Promise<api.CancelTypedData> {
    return this.request("GET", `/v1/recoveries/${recoveryId}/cancel-typed-data`, { query: { deadline } });
  }
  /** Registrar (API key, REGISTRAR_ROLE of the citizen's PA): start moving `oldAccount` to `newAccount`. */
  initiateRecovery(oldAccount: Address, newAccount: Address): Promise<api.TxAccepted> {
    return this.request("POST", "/v1/recoveries", { body: { oldAccount, newAccount } });
  }
  relayCancelRecovery(recoveryId: Id, body: api.RecoveryCancelRelay): Promise<api.TxAccepted> {
    return this.request("POST", `/v1/recoveries/${recoveryId}/cancel`, { body });
  }
  /**
   * The old key's signed cancel of recovery `recoveryId`, built locally with {@link typed.cancelRecovery} in the
   * deployment's recovery domain (from `/v1/meta`); `deadline` defaults to one hour after the request's start
   * or now, whichever is later.
   */
  async signCancelRecovery(oldKey: TypedDataSigner, recoveryId: Id, deadline?: Id): Promise<api.RecoveryCancelRelay> {
    const rec = await this.recovery(recoveryId);
    if (rec.oldAccount.toLowerCase() !== oldKey.address.toLowerCase()) {
      throw new Co3ApiError(400, "not_old_key", `recovery ${recoveryId} moves ${rec.oldAccount}, not ${oldKey.address}`);
    }
    const domain = (await this.domains()).recovery;
    if (!domain) throw new Co3ApiError(404, "recovery_not_deployed", "this deployment has no KeyRecovery");
    const dl = BigInt(deadline ?? Math.max(Math.floor(Date.now() / 1000), rec.initiatedAt) + 3600);
    const data = typed.cancelRecovery(domain, { recoveryId: BigInt(recoveryId), oldAccount: rec.oldAccount as Address,
      nonce: BigInt(rec.cancelNonce), deadline: dl });
    const signature = await oldKey.signTypedData(data);
    return { nonce: rec.cancelNonce, deadline: dl.toString(), signature };
  }
  /** Cancel a recovery with the old key (signed here, relayed: the citizen needs no ETH). Nothing moves. */
  async cancelRecovery(oldKey: TypedDataSigner, recoveryId: Id, deadline?: Id): Promise<api.TxAccepted> {
    return this.relayCancelRecovery(recoveryId, await this.signCancelRecovery(oldKey, recoveryId, deadline));
  }
  /** Finalize once the delay has passed (anyone; the relayer pays): identity, tokens and reputation move. */
  finalizeRecovery(recoveryId: Id): Promise<api.TxAccepted> {
    return this.request("POST", `/v1/recoveries/${recoveryId}/finalize`);
  }
  /** The council motion (guardian) that cancels a suspicious recovery; nothing is sent. */
  recoveryCouncilCall(recoveryId: Id): Promise<api.CouncilCall> {
    return this.request("POST", `/v1/recoveries/${recoveryId}/council-call`);
  }

  privacyExport(citizen: Address): Promise<Record<string, unknown>> {
    return this.request("GET", "/v1/privacy/export", { query: { citizen } });
  }
  privacyErase(citizen: Address): Promise<Record<string, unknown>> {
    return this.request("POST", "/v1/privacy/erase", { query: { citizen } });
  }
}
