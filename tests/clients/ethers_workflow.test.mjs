// ethers v6 against a JSON-RPC node, default settings (driven by tests/clients/test_js_clients.py).
// Env: RPC_URL, WS_URL, PRIVATE_KEY, ARTIFACT (JSON {abi, bytecode}). One node:test test per step.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

const { abi, bytecode } = JSON.parse(readFileSync(process.env.ARTIFACT, "utf8"));
const provider = new ethers.JsonRpcProvider(process.env.RPC_URL, undefined, { pollingInterval: 100 });
provider.pollingInterval = 100;
const wallet = new ethers.Wallet(process.env.PRIVATE_KEY, provider);
const OTHER = "0x" + "ab".repeat(20);
let counter;

after(() => provider.destroy());

test("connect: chain id", async () => {
  const net = await provider.getNetwork();
  assert.equal(net.chainId, BigInt(await provider.send("eth_chainId", [])));
});

test("deploy", async () => {
  const factory = new ethers.ContractFactory(abi, bytecode, wallet);
  counter = await factory.deploy();
  await counter.waitForDeployment();
  assert.notEqual(await provider.getCode(await counter.getAddress()), "0x");
});

test("call", async () => {
  assert.equal(await counter.count(), 0n);
});

test("estimate gas", async () => {
  const gas = await counter.increment.estimateGas(1);
  assert.ok(gas > 21000n);
});

test("fee data gives EIP-1559 fees (non-zero base fee)", async () => {
  const fees = await provider.getFeeData();
  assert.ok(fees.maxFeePerGas !== null && fees.maxFeePerGas > 0n, `maxFeePerGas ${fees.maxFeePerGas}`);
  assert.ok(fees.maxPriorityFeePerGas !== null);
});

test("Wallet.sendTransaction without fees sends type 2 and is mined", async () => {
  const tx = await wallet.sendTransaction({ to: OTHER, value: 1n });
  assert.equal(tx.type, 2);
  const receipt = await tx.wait();
  assert.equal(receipt.status, 1);
  assert.equal(receipt.type, 2);
});

test("default send and receipt (type 2)", async () => {
  const tx = await counter.increment(1);
  const receipt = await tx.wait();
  assert.equal(receipt.status, 1);
  assert.equal(receipt.type, 2);
  const parsed = receipt.logs.map((l) => counter.interface.parseLog(l));
  assert.equal(parsed[0].name, "Incremented");
  assert.equal(parsed[0].args.value, 1n);
});

test("send type 0 (legacy)", async () => {
  const receipt = await (await counter.increment(1, { type: 0 })).wait();
  assert.equal(receipt.status, 1);
  assert.equal(receipt.type, 0);
});

test("send type 1 with access list (estimate includes its intrinsic gas)", async () => {
  const accessList = [{ address: OTHER, storageKeys: [ethers.ZeroHash, ethers.zeroPadValue("0x01", 32)] }];
  const receipt = await (await counter.increment(1, { type: 1, accessList })).wait();
  assert.equal(receipt.status, 1);
  assert.equal(receipt.type, 1);
});

test("send type 2 (EIP-1559)", async () => {
  const receipt = await (await counter.increment(1, { type: 2 })).wait();
  assert.equal(receipt.status, 1);
  assert.equal(receipt.type, 2);
});

test("revert reasons and custom errors", async () => {
  await assert.rejects(counter.increment(0), (e) => e.reason === "zero");
  await assert.rejects(counter.increment.staticCall(5000), (e) => e.revert?.name === "TooLarge");
});

test("contract.on over HTTP filters across several blocks", async () => {
  const seen = [];
  await counter.on("Incremented", (_by, value) => seen.push(value));
  const sent = [];
  for (const n of [11n, 12n, 13n]) {
    const receipt = await (await counter.increment(n)).wait();
    sent.push(receipt.hash);
  }
  const deadline = Date.now() + 10000;
  while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await counter.off("Incremented");
  assert.equal(seen.length, 3);
});

test("queryFilter", async () => {
  const events = await counter.queryFilter("Incremented", 0, "latest");
  assert.ok(events.length >= 7);
});

test("fee data and fee history", async () => {
  const fees = await provider.getFeeData();
  assert.ok(fees.gasPrice !== null);
  const hist = await provider.send("eth_feeHistory", ["0x3", "latest", [25, 75]]);
  assert.equal(hist.baseFeePerGas.length, hist.gasUsedRatio.length + 1);
});

test("proof", async () => {
  const addr = await counter.getAddress();
  const proof = await provider.send("eth_getProof", [addr, [ethers.ZeroHash], "latest"]);
  assert.equal(BigInt(proof.storageProof[0].value), await counter.count());
});

test("WebSocket: blocks and contract events", async () => {
  const ws = new ethers.WebSocketProvider(process.env.WS_URL);
  try {
    const wsCounter = counter.connect(ws);
    let blocks = 0;
    const got = new Promise((resolve) => wsCounter.on("Incremented", (_by, value) => resolve(value)));
    await ws.on("block", () => { blocks += 1; });
    await new Promise((r) => setTimeout(r, 300));  // subscriptions in place
    await (await counter.increment(21n)).wait();
    const value = await Promise.race([got, new Promise((_, rej) => setTimeout(() => rej(new Error("timeout")), 10000))]);
    assert.equal(value, await counter.count());
    const deadline = Date.now() + 5000;
    while (blocks === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(blocks >= 1);
  } finally {
    await ws.destroy();
  }
});
