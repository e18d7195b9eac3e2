// viem v2 against a JSON-RPC node, default settings (driven by tests/clients/test_js_clients.py).
// Env: RPC_URL, WS_URL, PRIVATE_KEY, ARTIFACT (JSON {abi, bytecode}). One node:test test per step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  createPublicClient, createWalletClient, defineChain, http, webSocket, encodeFunctionData, parseEventLogs,
  BaseError, ContractFunctionRevertedError,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

const { abi, bytecode } = JSON.parse(readFileSync(process.env.ARTIFACT, "utf8"));
const probe = createPublicClient({ transport: http(process.env.RPC_URL) });
const chainId = await probe.getChainId();
const chain = defineChain({
  id: chainId, name: "under-test", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [process.env.RPC_URL], webSocket: [process.env.WS_URL] } },
});
const client = createPublicClient({ chain, transport: http(process.env.RPC_URL), pollingInterval: 100 });
const account = privateKeyToAccount(process.env.PRIVATE_KEY);
const wallet = createWalletClient({ account, chain, transport: http(process.env.RPC_URL) });
const OTHER = "0x" + "ab".repeat(20);
let address;

async function send(args) {
  const hash = await wallet.sendTransaction(args);
  return client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
}

test("deploy", async () => {
  const hash = await wallet.deployContract({ abi, bytecode });
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  assert.equal(receipt.status, "success");
  address = receipt.contractAddress;
});

test("call", async () => {
  assert.equal(await client.readContract({ address, abi, functionName: "count" }), 0n);
});

test("estimate gas", async () => {
  const gas = await client.estimateContractGas({ address, abi, functionName: "increment", args: [1n], account });
  assert.ok(gas > 21000n);
});

test("sendTransaction without fees is EIP-1559 and mined", async () => {
  const hash = await wallet.sendTransaction({ to: OTHER, value: 1n });
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  assert.equal(receipt.status, "success");
  assert.equal(receipt.type, "eip1559");
  assert.ok(receipt.effectiveGasPrice > 0n);
});

test("default write is EIP-1559", async () => {
  const hash = await wallet.writeContract({ address, abi, functionName: "increment", args: [1n] });
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  assert.equal(receipt.status, "success");
  assert.equal(receipt.type, "eip1559");
  const [log] = parseEventLogs({ abi, logs: receipt.logs });
  assert.equal(log.eventName, "Incremented");
});

const data = encodeFunctionData({ abi, functionName: "increment", args: [1n] });
const accessList = [{ address: OTHER, storageKeys: ["0x" + "00".repeat(32)] }];

test("send legacy", async () => {
  const receipt = await send({ to: address, data, type: "legacy" });
  assert.equal(receipt.status, "success");
  assert.equal(receipt.type, "legacy");
});

test("send EIP-2930 with access list (estimate includes its intrinsic gas)", async () => {
  const receipt = await send({ to: address, data, type: "eip2930", accessList });
  assert.equal(receipt.status, "success");
  assert.equal(receipt.type, "eip2930");
});

test("send EIP-1559 with access list", async () => {
  const receipt = await send({ to: address, data, accessList });
  assert.equal(receipt.status, "success");
  assert.equal(receipt.type, "eip1559");
});

test("createAccessList", async () => {
  const result = await client.createAccessList({ account, to: address, data });
  assert.ok(result.gasUsed > 21000n);
  assert.ok(Array.isArray(result.accessList));
});

test("revert decoding", async () => {
  await assert.rejects(
    client.simulateContract({ address, abi, functionName: "increment", args: [5000n], account }),
    (e) => e instanceof BaseError && e.walk((x) => x instanceof ContractFunctionRevertedError)?.data?.errorName === "TooLarge",
  );
});

test("watchContractEvent over HTTP filters across several blocks", async () => {
  const seen = [];
  const unwatch = client.watchContractEvent({
    address, abi, eventName: "Incremented", poll: true, pollingInterval: 100,
    onLogs: (logs) => seen.push(...logs),
  });
  await new Promise((r) => setTimeout(r, 400));  // the filter is installed
  for (const n of [11n, 12n, 13n]) {
    const hash = await wallet.writeContract({ address, abi, functionName: "increment", args: [n] });
    await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  }
  const deadline = Date.now() + 10000;
  while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  unwatch();
  assert.deepEqual(seen.map((l) => l.args.value).slice(-3).length, 3);
  assert.equal(seen.length, 3);
});

test("getLogs and block with transactions", async () => {
  const logs = await client.getContractEvents({ address, abi, eventName: "Incremented", fromBlock: 0n });
  assert.ok(logs.length >= 7);
  const block = await client.getBlock({ blockNumber: logs.at(-1).blockNumber, includeTransactions: true });
  assert.equal(block.transactions[logs.at(-1).transactionIndex].hash, logs.at(-1).transactionHash);
});

test("fees and fee history", async () => {
  const fees = await client.estimateFeesPerGas();
  assert.equal(typeof fees.maxFeePerGas, "bigint");
  const hist = await client.getFeeHistory({ blockCount: 3, rewardPercentiles: [25, 75] });
  assert.equal(hist.baseFeePerGas.length, hist.gasUsedRatio.length + 1);
  assert.equal(typeof (await client.getBlobBaseFee()), "bigint");
});

test("proof", async () => {
  const proof = await client.getProof({ address, storageKeys: ["0x" + "00".repeat(32)] });
  assert.equal(proof.storageProof[0].value, await client.readContract({ address, abi, functionName: "count" }));
});

test("WebSocket: watchBlocks and events", async () => {
  const ws = createPublicClient({ chain, transport: webSocket(process.env.WS_URL) });
  try {
    let blocks = 0;
    const events = [];
    const unBlocks = ws.watchBlocks({ onBlock: () => { blocks += 1; } });
    const unEvents = ws.watchContractEvent({ address, abi, eventName: "Incremented", onLogs: (l) => events.push(...l) });
    await new Promise((r) => setTimeout(r, 400));
    const hash = await wallet.writeContract({ address, abi, functionName: "increment", args: [21n] });
    await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    const deadline = Date.now() + 10000;
    while ((blocks === 0 || events.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    unBlocks();
    unEvents();
    assert.ok(blocks >= 1);
    assert.equal(events.length, 1);
  } finally {
    await (await ws.transport.getRpcClient()).close();
  }
});
