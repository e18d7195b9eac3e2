/**
 * Event helpers: decode contract logs with the bundled ABIs and bind contracts from `/v1/meta`.
 *
 * Why decode locally: an app that watches the chain (through a node's JSON-RPC, or receipts returned by
 * `/v1/tx`) should read the same events the audit recomputes tallies from — `VoteCast`, `AttestationAccepted`,
 * `Transfer`... — without a second copy of the ABIs.
 */
import { decodeEventLog, type Abi, type Address, type Hex, type Log } from "viem";
import { abis, type ContractName } from "./generated/abis.js";
import type { Meta } from "./client.js";

export interface DecodedEvent {
  contract: ContractName;
  address: Address;
  eventName: string;
  args: Record<string, unknown>;
  blockNumber: bigint | null;
  transactionHash: Hex | null;
  logIndex: number | null;
}

/** `{name: {address, abi}}` of the deployment's contracts that this SDK has ABIs for. */
export function contractsFromMeta(meta: Meta): { [K in ContractName]?: { address: Address; abi: (typeof abis)[K] } } {
  const out: Record<string, { address: Address; abi: Abi }> = {};
  for (const [name, c] of Object.entries(meta.contracts)) {
    if (name in abis) out[name] = { address: c.address, abi: abis[name as ContractName] as unknown as Abi };
  }
  return out as never;
}

/**
 * Decode `logs` emitted by the deployment's contracts (others are skipped). `meta` maps addresses to contract
 * names, so an event with the same signature on two contracts is attributed to the right one.
 */
export function decodeEvents(meta: Meta, logs: readonly Pick<Log, "address" | "topics" | "data" | "blockNumber"
  | "transactionHash" | "logIndex">[]): DecodedEvent[] {
  const byAddress = new Map<string, ContractName>();
  for (const [name, c] of Object.entries(meta.contracts)) {
    if (name in abis) byAddress.set(c.address.toLowerCase(), name as ContractName);
  }
  const out: DecodedEvent[] = [];
  for (const log of logs) {
    const name = byAddress.get(log.address.toLowerCase());
    if (!name || log.topics.length === 0) continue;
    try {
      const ev = decodeEventLog({ abi: abis[name] as unknown as Abi, topics: log.topics as [Hex, ...Hex[]],
        data: log.data });
      out.push({ contract: name, address: log.address, eventName: ev.eventName ?? "", args: ev.args as never,
        blockNumber: log.blockNumber ?? null, transactionHash: log.transactionHash ?? null,
        logIndex: log.logIndex ?? null });
    } catch {
      // An event this ABI does not know (e.g. from an upgraded contract): skipped, abiMismatches() says why.
    }
  }
  return out;
}
