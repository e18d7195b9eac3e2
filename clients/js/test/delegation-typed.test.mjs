// The liquid-delegation messages built in JavaScript sign the same bytes as the Python side
// (co3chain/delegation/typed_data.py) and the contract (LiquidDelegation.DELEGATE_TYPEHASH / UNDELEGATE_TYPEHASH).
// No node needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hashTypedData, keccak256, recoverTypedDataAddress, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { typed } from "../dist/index.js";

// Computed once with co3chain.delegation.typed_data (delegate_typed_data / undelegate_typed_data, sign_typed).
const KEY = "0xca42ef8901725d01ed15841eb74c180e5a9bc7a5a45f59952d254c568c7d3e6f"; // keccak("js sdk liquid delegation vector")
const DELEGATOR = "0x33c2B6759A61E796f4a0323C195bfE0d9D47179C";
const DELEGATEE = "0x00000000000000000000000000000000000000AA";
const CHAIN_ID = 1337;
const CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const PY = {
  delegate: {
    digest: "0x3ef88825b7aadf95386dd9dae3075996e1696c240f9bbe03b955e2750e6202a1",
    signature: "0x98ec312519de39aa823e8293ff354889c83421f4c658bf016120a6cc5de9fb9577f760bb1ff12cc84be3eb4c7b58f4f" +
      "29645aed6318ccc231243cc13fa841af01c",
  },
  undelegate: {
    digest: "0x9a435439e15e70c9a0381664ee0f045b6f3023bb9f2d641e34c1262386e784fa",
    signature: "0xec83fa331824243cb39143eb71deff29e9c2c2b364cc7e62b236e65508fbd46e4e6e66f5f4f865ff662f5f7fe1476b3b" +
      "da9dee22fb825082b39f750c2a3e811f1c",
  },
};

const domain = () => typed.liquidDelegationDomain(CHAIN_ID, CONTRACT);
const delegate = (over = {}) => typed.liquidDelegate(domain(),
  { delegator: DELEGATOR, scope: 3n, delegatee: DELEGATEE, nonce: 4n, expiry: 1700000000n, ...over });
const undelegate = () => typed.liquidUndelegate(domain(), { delegator: DELEGATOR, scope: 3, nonce: 5, expiry: 1700000000 });

test("delegate and undelegate digests equal the Python implementation's", () => {
  assert.equal(hashTypedData(delegate()), PY.delegate.digest);
  assert.equal(hashTypedData(undelegate()), PY.undelegate.digest);
});

test("signatures equal Python's and recover the delegator", async () => {
  const account = privateKeyToAccount(KEY);
  assert.equal(account.address, DELEGATOR);
  for (const [data, py] of [[delegate(), PY.delegate], [undelegate(), PY.undelegate]]) {
    const signature = await account.signTypedData(data);
    assert.equal(signature, py.signature);
    assert.equal(await recoverTypedDataAddress({ ...data, signature }), DELEGATOR);
  }
});

test("domain and type strings match the contract", () => {
  assert.deepEqual(domain(), { name: "CO3 Liquid Delegation", version: "1", chainId: CHAIN_ID,
    verifyingContract: CONTRACT });
  const str = (name, fields) => `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;
  assert.equal(keccak256(toHex(str("Delegate", typed.LIQUID_DELEGATE))),
    "0x52e26a8ae8a29fbb75d7b44b16e21fa31200af6de563899b96f75371f6a475db");
  assert.equal(keccak256(toHex(str("Undelegate", typed.LIQUID_UNDELEGATE))),
    "0x69b586e06dbd632d805a5055dc83bb43440acb7f9e39697ecaf9076633bc7f15");
});

test("any changed field changes the digest; bad input is refused", () => {
  const base = hashTypedData(delegate());
  for (const change of [{ scope: 0n }, { nonce: 5n }, { expiry: 1700000001n }, { delegatee: DELEGATOR }]) {
    assert.notEqual(hashTypedData(delegate(change)), base, JSON.stringify(change, (_k, v) => String(v)));
  }
  assert.throws(() => delegate({ scope: -1n }), RangeError);
});
