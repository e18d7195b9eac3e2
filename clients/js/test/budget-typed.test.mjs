// The budget ballot built in JavaScript signs the same bytes as the Python side (co3chain/budget/typed_data.py)
// and the contract (ParticipatoryBudget.BALLOT_TYPEHASH). No node needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hashTypedData, keccak256, recoverTypedDataAddress, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { typed } from "../dist/index.js";

// Inputs and outputs computed once with co3chain.budget.typed_data (ballot_typed_data, ballot_digest,
// sign_ballot) and co3chain.budget.rule.selection_mask([0, 2, 5, 31]).
const KEY = "0xf9c74e239766dd384a4507175c249fea3b903abcfaf28854e86e8161eec7ced4"; // keccak("js sdk budget ballot vector")
const VOTER = "0x875FDA7aE9536d235Ae91da68F89eA08F613394C";
const CHAIN_ID = 1337;
const CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const ROUND_ID = 7n;
const SELECTION = 2147483685n;
const NONCE = 3n;
const PY_DIGEST = "0x197a74da8de740d64249d9c35071361658c49fcb042d7d0d112282abdbb002c0";
const PY_SIGNATURE = "0xfcb1d9c784deafde1f486e774627e4d71fccd80bde0be0ece715891b60bb4375655829ca8488509a88a65bcb960ab7" +
  "7397aedb62213533b01cefe22a8037fca41c";

const data = () => typed.budgetBallot(typed.budgetDomain(CHAIN_ID, CONTRACT),
  { roundId: ROUND_ID, selection: SELECTION, voter: VOTER, nonce: NONCE });

test("budget ballot digest equals the Python implementation's", () => {
  assert.equal(typed.selectionMask([0, 2, 5, 31]), SELECTION);
  assert.equal(hashTypedData(data()), PY_DIGEST);
});

test("budget ballot signature equals Python's and recovers the voter", async () => {
  const account = privateKeyToAccount(KEY);
  assert.equal(account.address, VOTER);
  const signature = await account.signTypedData(data());
  assert.equal(signature, PY_SIGNATURE);
  assert.equal(await recoverTypedDataAddress({ ...data(), signature }), VOTER);
});

test("budget ballot domain and type string match the contract", () => {
  const domain = typed.budgetDomain(CHAIN_ID, CONTRACT);
  assert.deepEqual(domain, { name: "CO3 ParticipatoryBudget", version: "1", chainId: CHAIN_ID,
    verifyingContract: CONTRACT });
  const typeString = `BudgetBallot(${typed.BUDGET_BALLOT.map((f) => `${f.type} ${f.name}`).join(",")})`;
  assert.equal(typeString, "BudgetBallot(uint256 roundId,uint256 selection,address voter,uint256 nonce)");
  // ParticipatoryBudget.sol: BALLOT_TYPEHASH = keccak256("BudgetBallot(uint256 roundId,...)")
  assert.equal(keccak256(toHex(typeString)), "0xa6571a3d6d25ad2e5508647a701bd2099b01ea339069a67fd298257f8f4162ab");
});

test("any changed field changes the digest; bad input is refused", () => {
  const base = hashTypedData(data());
  for (const change of [{ roundId: 8n }, { selection: SELECTION ^ 1n }, { nonce: 4n },
    { voter: "0x0000000000000000000000000000000000000001" }]) {
    const other = typed.budgetBallot(typed.budgetDomain(CHAIN_ID, CONTRACT),
      { roundId: ROUND_ID, selection: SELECTION, voter: VOTER, nonce: NONCE, ...change });
    assert.notEqual(hashTypedData(other), base, JSON.stringify(change, (_k, v) => String(v)));
  }
  assert.notEqual(hashTypedData({ ...data(), domain: typed.budgetDomain(CHAIN_ID + 1, CONTRACT) }), base);
  assert.throws(() => typed.selectionMask([32]), RangeError);
  assert.throws(() => typed.selectionMask([-1]), RangeError);
  assert.throws(() => typed.budgetBallot(typed.budgetDomain(CHAIN_ID, CONTRACT),
    { roundId: -1n, selection: 0n, voter: VOTER, nonce: 0n }), RangeError);
});
