// The citizen-initiative messages built in JavaScript sign the same bytes as the Python side
// (co3chain/initiative/typed_data.py, content.py) and the contract (CitizenInitiatives typehashes, contentHash).
// No node needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hashTypedData, keccak256, recoverTypedDataAddress, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { typed } from "../dist/index.js";

// Inputs and outputs computed once with co3chain.initiative (Content.build(...).content_hash(),
// support_typed_data / draft_typed_data / amend_typed_data / open_typed_data, digest, sign).
const KEY = "0x0ea0358ee7abdd2e09d1a4ced310e42822b70e03efa3c2991ee67e8e3f638fad"; // keccak("js sdk initiative vector")
const ADDR = "0x2F0890aEAf5C1Ad175Ef351bA3d05D6141a0Cc19";
const CHAIN_ID = 1337;
const CONTRACT = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const TEXT = "0xd99d2ec53f1ffd52ddf0860468d1b57df9ea0a7fbbe9e3a44ae500c163a1903a"; // keccak("initiative text")
const TITLE = "Open the garden shed on Sundays";
const ACTION = { target: "0x5FbDB2315678afecb367f032d93F642f64180aa3", value: 0n, calldata: "0xd09de08a" };
const WITH_ACTION = { textHash: TEXT, title: TITLE, areaId: 0n, electorate: (1n << 248n) | 3n, mode: 0,
  votingPeriod: 86400, actions: [ACTION] };
const PLAIN = { textHash: TEXT, title: TITLE, votingPeriod: 86400 };
const PY = {
  actions: "0x8ddb0250e95866d688be51c41e78be84a75eccd8f732f564469c2f7cdebe17c3",
  content: "0xcccc86f0e94ce9b1e8f137d00281a813470d85816a3beb25cb17ff2e8e2ba8ac",
  contentPlain: "0x819ebaff9e16c53d3f6596f91b7066b33383b54033f3733694534aebbedc8384",
  support: "0x6c753a530538fff33bbf6f17e2f4359ec8eea8a83e31324208fb9f8f0dd12a22",
  supportSig: "0xccdaca8dbca61cf39caf876c14790b894a6593dad94f9f64a006b83f3599fca15d05f34406ecbfb240dcf6a65b319e9a9b1" +
    "5cbc6791f2b41fa48599e3b2b018d1b",
  draft: "0x7454b2c3c80f986b814f7ed6190eb5def6731dbcb66a02a9eecb0f50fadf596d",
  amend: "0x6dcfd902c7b93f90a96ae091fb373e43250d164721ace3466f6cde5799f1efd1",
  open: "0x75df4dfc8bf31f467b7afbc99584b8c8015fa34eae69a37d06348873cf7bb455",
};
const DEADLINE = 1800000000n;
const domain = () => typed.initiativeDomain(CHAIN_ID, CONTRACT);
const support = (over = {}) => typed.initiativeSupport(domain(), { initiativeId: 5n, versionHash: PY.content,
  supporter: ADDR, nonce: 2n, deadline: DEADLINE, ...over });

test("content and actions hashes equal Python's (the contract's contentHash)", () => {
  assert.equal(typed.initiativeActionsHash([ACTION]), PY.actions);
  assert.equal(typed.initiativeActionsHash([]), "0x" + "00".repeat(32));
  assert.equal(typed.initiativeContentHash(WITH_ACTION), PY.content);
  assert.equal(typed.initiativeContentHash(PLAIN), PY.contentPlain);
});

test("support digest and signature equal Python's and recover the supporter", async () => {
  assert.equal(hashTypedData(support()), PY.support);
  const account = privateKeyToAccount(KEY);
  assert.equal(account.address, ADDR);
  const signature = await account.signTypedData(support());
  assert.equal(signature, PY.supportSig);
  assert.equal(await recoverTypedDataAddress({ ...support(), signature }), ADDR);
});

test("the author's draft, amendment and opening digests equal Python's", () => {
  assert.equal(hashTypedData(typed.initiativeDraft(domain(), { contentHash: PY.content, author: ADDR, nonce: 0n,
    deadline: DEADLINE })), PY.draft);
  assert.equal(hashTypedData(typed.initiativeAmend(domain(), { initiativeId: 5n, contentHash: PY.contentPlain,
    author: ADDR, nonce: 1n, deadline: DEADLINE })), PY.amend);
  assert.equal(hashTypedData(typed.initiativeOpen(domain(), { initiativeId: 5n, versionHash: PY.contentPlain,
    author: ADDR, nonce: 2n, deadline: DEADLINE })), PY.open);
});

test("domain and type string match the contract; every field is bound; bad input is refused", () => {
  assert.deepEqual(domain(), { name: "CO3 CitizenInitiatives", version: "1", chainId: CHAIN_ID,
    verifyingContract: CONTRACT });
  const typeString = `SupportInitiative(${typed.INITIATIVE_SUPPORT.map((f) => `${f.type} ${f.name}`).join(",")})`;
  // CitizenInitiatives.sol: SUPPORT_TYPEHASH
  assert.equal(keccak256(toHex(typeString)), "0xaff39bf2b7ef6086639ca8d395f4fa2b1b08c8c60b8dda479d2c8d9682755a98");
  const base = hashTypedData(support());
  for (const change of [{ initiativeId: 6n }, { versionHash: PY.contentPlain }, { nonce: 3n },
    { deadline: DEADLINE + 1n }, { supporter: "0x0000000000000000000000000000000000000001" }]) {
    assert.notEqual(hashTypedData(support(change)), base, JSON.stringify(change, (_k, v) => String(v)));
  }
  assert.notEqual(hashTypedData({ ...support(), domain: typed.initiativeDomain(CHAIN_ID + 1, CONTRACT) }), base);
  assert.notEqual(typed.initiativeContentHash({ ...PLAIN, title: TITLE + "!" }), PY.contentPlain);
  assert.throws(() => support({ initiativeId: -1n }), RangeError);
  assert.throws(() => support({ versionHash: "0x1234" }), RangeError);
  assert.throws(() => typed.initiativeContentHash({ ...PLAIN, mode: 3 }), RangeError);
});
