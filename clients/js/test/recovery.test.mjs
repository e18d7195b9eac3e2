// Lost-key recovery end to end against a live anvil node + API: a registrar initiates, the old key cancels with a
// CancelRecovery signed in JavaScript (relayed: no ETH), a second request is finalized after the delay and the
// new key holds the identity. The builder's digest is checked against the contract's own cancelDigest.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createPublicClient, hashTypedData, http, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { Co3ApiError, Co3Client, abis, typed } from "../dist/index.js";
import { increaseTime, startStack } from "./helpers/stack.mjs";

let stack;
let anon;
let pa;

before(async () => {
  stack = await startStack();
  anon = new Co3Client(stack.apiUrl);
  pa = new Co3Client(stack.apiUrl, { apiKey: stack.paKey });
}, { timeout: 180_000 });

after(async () => { await stack?.stop(); });

async function mined(tx) {
  assert.equal((await anon.waitForTx(tx.txHash)).status, "success");
}

test("a recovery is cancelled by the old key's JS signature, another one is finalized", async () => {
  const old = privateKeyToAccount(keccak256(toHex("js recovery old key")));
  const rogue = privateKeyToAccount(keccak256(toHex("js recovery rogue key")));
  const fresh = privateKeyToAccount(keccak256(toHex("js recovery new key")));
  await mined(await pa.registerCitizen(old.address, keccak256(toHex(old.address)), 2 ** 40));
  const settings = await anon.recoverySettings();
  const meta = await anon.meta();
  assert.equal(meta.eip712.domains.recovery.verifyingContract, meta.contracts.KeyRecovery.address);
  assert.equal(settings.contract, meta.contracts.KeyRecovery.address);

  await mined(await pa.initiateRecovery(old.address, rogue.address));
  const first = (await anon.recoverySettings()).recoveryCount;
  const rec = await anon.recovery(first);
  assert.equal(rec.status, "Pending");
  assert.equal(rec.newAccount, rogue.address);

  // The builder's digest is the contract's; the server-built typed data is the same message.
  const deadline = rec.initiatedAt + 3600;
  const data = typed.cancelRecovery(meta.eip712.domains.recovery, { recoveryId: first, oldAccount: old.address,
    nonce: rec.cancelNonce, deadline });
  const rpc = createPublicClient({ transport: http(stack.rpcUrl) });
  const onChain = await rpc.readContract({ address: meta.contracts.KeyRecovery.address, abi: abis.KeyRecovery,
    functionName: "cancelDigest", args: [BigInt(first), BigInt(rec.cancelNonce), BigInt(deadline)] });
  assert.equal(hashTypedData(data), onChain);
  const served = (await anon.recoveryCancelTypedData(first, deadline)).typedData;
  assert.equal(served.message.oldAccount, old.address);

  // Someone else's key cannot sign the cancel; the old key can, and pays nothing.
  await assert.rejects(anon.cancelRecovery(rogue, first, deadline), (e) => e instanceof Co3ApiError && e.code === "not_old_key");
  const forged = await anon.signCancelRecovery(old, first, deadline);
  forged.signature = await rogue.signTypedData(data);
  await assert.rejects(anon.relayCancelRecovery(first, forged), (e) => e.status === 400 && e.code === "invalid_signature");
  await mined(await anon.cancelRecovery(old, first, deadline));
  assert.equal((await anon.recovery(first)).status, "Cancelled");

  await mined(await pa.initiateRecovery(old.address, fresh.address));
  const second = first + 1;
  await assert.rejects(anon.finalizeRecovery(second), (e) => e.status === 409 && e.code === "recovery_not_ready");
  const call = await anon.recoveryCouncilCall(second);
  assert.equal(call.function, "cancel(uint256)");
  await increaseTime(stack.rpcUrl, settings.delaySeconds + 1);
  await mined(await anon.finalizeRecovery(second));
  assert.equal((await anon.recovery(second)).status, "Finalized");
  assert.equal((await anon.citizen(fresh.address)).isCitizen, true);
  assert.equal((await anon.citizen(old.address)).isCitizen, false);
  let events = [];
  for (let i = 0; i < 100 && events.length < 4; i++) {
    events = (await anon.recoveries({ account: old.address })).items;
    if (events.length < 4) await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(events.map((e) => e.event), ["finalized", "initiated", "cancelled", "initiated"]);
});
