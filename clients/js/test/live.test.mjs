// End to end against a live anvil node + API: OpenAPI conformance, /v1/meta, a check-in from device signature
// to token reward, and a relayed vote counted on chain.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createPublicClient, http, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { Wallet } from "ethers";
import { Co3Client, Co3ApiError, ROUTE_METHODS, ROUTE_KEYS, RevocationReason, Support, abiMismatches, decodeEvents,
  typed }
  from "../dist/index.js";
import { generate, OUT } from "../scripts/gen-api.mjs";
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

async function chainNow() {
  const rpc = createPublicClient({ transport: http(stack.rpcUrl) });
  return Number((await rpc.getBlock()).timestamp);
}

async function registered(account) {
  const tx = await pa.registerCitizen(account.address, keccak256(toHex(account.address)), 2 ** 40);
  assert.equal((await anon.waitForTx(tx.txHash)).status, "success");
}

test("the client's types and route table match the live OpenAPI document", async () => {
  const spec = await (await fetch(`${stack.apiUrl}/openapi.json`)).json();
  const expected = generate(spec);
  const committed = readFileSync(OUT, "utf8");
  if (expected !== committed) {
    const a = committed.split("\n"), b = expected.split("\n");
    const i = b.findIndex((line, n) => line !== a[n]);
    assert.fail(`src/generated/api.ts is stale at line ${i + 1}: API has ${JSON.stringify(b[i])}, client has ` +
      `${JSON.stringify(a[i])}; run npm run gen:api -- ${stack.apiUrl}/openapi.json and map new routes in ` +
      "ROUTE_METHODS");
  }
  const live = Object.entries(spec.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  assert.deepEqual([...live].sort(), [...ROUTE_KEYS].sort());
  for (const key of ROUTE_KEYS) {
    const target = ROUTE_METHODS[key];
    assert.ok(target.startsWith("not-a-client-call: ") || typeof Co3Client.prototype[target] === "function",
      `${key} -> ${target} is not a client method`);
  }
});

test("meta configures the client: chain id, domains, and the bundled ABIs match the deployment", async () => {
  const meta = await anon.meta();
  assert.equal(meta.chainId, stack.chainId);
  assert.deepEqual(abiMismatches(meta), []);
  assert.equal(meta.eip712.domains.device.verifyingContract, meta.contracts.AttestationHub.address);
  for (const [name, fields] of Object.entries(typed.TYPES)) assert.deepEqual(meta.eip712.types[name], [...fields], name);
  assert.deepEqual(Object.keys(meta.eip712.actions).sort(),
    ["amendInitiative", "cancelRecovery", "checkin", "commit", "delegate", "delegateVote", "draftInitiative",
     "openInitiative", "spend", "support", "supportInitiative", "undelegateVote", "vote"]);
});

test("a check-in signed in JavaScript is rewarded on chain; a tampered one is rejected naming the field", async () => {
  const citizen = privateKeyToAccount(keccak256(toHex("js sdk check-in citizen")));
  await registered(citizen);
  const nowMs = (await chainNow()) * 1000 - 5_000;
  const body = await anon.signCheckIn(citizen, { eventId: "js-ci-1", areaId: stack.areaId,
    activityId: stack.activityId, latE6: stack.inside.latE6, lonE6: stack.inside.lonE6, accuracyMm: 8_000,
    timestampMs: nowMs });
  const backend = new Co3Client(stack.apiUrl);  // the AR app's server: holds the source secret
  const answer = await backend.sendCheckIn(stack.source, body);
  assert.equal(answer.state, "received");
  let event;
  for (let i = 0; i < 200; i++) {
    event = await pa.oracleEvent(answer.attestation_id);
    if (["confirmed", "rejected"].includes(event.state)) break;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.equal(event.state, "confirmed", JSON.stringify(event));
  assert.ok(BigInt((await anon.citizen(citizen.address)).balance) > 0n);

  const tampered = { ...body, event_id: "js-ci-2", lon_e6: body.lon_e6 + 1,
    device_signed: { ...body.device_signed, message: { ...body.device_signed.message, eventId: "js-ci-2" } } };
  const bad = await backend.sendCheckIn(stack.source, tampered);
  for (let i = 0; i < 200; i++) {
    event = await pa.oracleEvent(bad.attestation_id);
    if (event.state !== "received") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(event.state, "rejected");
  assert.match(event.reason, /lonE6/);

  // The retired float format is refused up front with what to sign.
  const legacy = { event_id: "js-ci-3", citizen: citizen.address, area_id: 1, activity_id: 1, lat: 45.071,
    lon: 7.6855, accuracy_m: 8, timestamp: Math.floor(nowMs / 1000), device_signature: body.device_signature };
  await assert.rejects(backend.sendCheckIn(stack.source, legacy), (err) => err instanceof Co3ApiError &&
    err.status === 422 && /EIP-712/.test(err.message) && /lat_e6/.test(err.message));
});

test("a relayed vote signed in JavaScript is counted, and its events decode", async () => {
  const voter = privateKeyToAccount(keccak256(toHex("js sdk voter")));
  await registered(voter);
  const now = await chainNow();
  const created = await pa.createProposal({ description: "JS SDK ballot", voteStart: now + 5, voteEnd: now + 3600 });
  assert.equal((await anon.waitForTx(created.txHash)).status, "success");
  await increaseTime(stack.rpcUrl, 10);
  const sent = await anon.vote(voter, created.proposalId, Support.For);
  const status = await anon.waitForTx(sent.txHash);
  assert.equal(status.status, "success");
  const proposal = await anon.proposal(created.proposalId);
  assert.equal(proposal.results.for, "1");
  const rpc = createPublicClient({ transport: http(stack.rpcUrl) });
  const receipt = await rpc.getTransactionReceipt({ hash: sent.txHash });
  const events = decodeEvents(await anon.meta(), receipt.logs);
  const cast = events.find((e) => e.eventName === "VoteCast");
  assert.ok(cast, JSON.stringify(events.map((e) => e.eventName)));
  assert.equal(cast.args.voter, voter.address);
  assert.equal(cast.args.proposalId, BigInt(created.proposalId));
  // A second vote is refused by the API with the contract's reason, not a bare 500.
  await assert.rejects(anon.vote(voter, created.proposalId, Support.Against), (err) => err instanceof Co3ApiError &&
    err.status >= 400 && err.status < 500);
});

test("the same ballot signed with ethers is accepted by the relayer (builders are library-neutral)", async () => {
  const wallet = new Wallet(keccak256(toHex("js sdk ethers voter")));
  const voter = privateKeyToAccount(wallet.privateKey);
  await registered(voter);
  const now = await chainNow();
  const created = await pa.createProposal({ description: "ethers ballot", voteStart: now + 5, voteEnd: now + 3600 });
  await anon.waitForTx(created.txHash);
  await increaseTime(stack.rpcUrl, 10);
  const { domains } = (await anon.meta()).eip712;
  const data = typed.ballot(domains.governance, { proposalId: created.proposalId, support: Support.Abstain,
    voter: wallet.address, nonce: 0 });
  const signature = await wallet.signTypedData(data.domain, data.types, data.message);
  const sent = await anon.relayVote({ proposalId: created.proposalId, support: 2, voter: wallet.address, nonce: "0",
    signature });
  assert.equal((await anon.waitForTx(sent.txHash)).status, "success");
  assert.equal((await anon.proposal(created.proposalId)).results.abstain, "1");
});

test("PA and merchant operations: revoke, renew, cancel, close, council call, statement", async () => {
  const alice = privateKeyToAccount(keccak256(toHex("js sdk ops alice")));
  const bob = privateKeyToAccount(keccak256(toHex("js sdk ops bob")));
  await registered(alice);
  await registered(bob);
  const ok = async (p) => assert.equal((await anon.waitForTx((await p).txHash)).status, "success");
  await ok(pa.revokeCitizen(bob.address, RevocationReason.KeyCompromised));
  assert.equal((await anon.citizen(bob.address)).revoked, true);
  await ok(pa.renewCitizen(alice.address, (await chainNow()) + 10 ** 7));
  await assert.rejects(anon.revokeCitizen(alice.address, 1), (e) => e instanceof Co3ApiError && e.status === 401);

  const now = await chainNow();
  const created = await pa.createProposal({ description: "to cancel", voteStart: now + 3600, voteEnd: now + 7200 });
  await anon.waitForTx(created.txHash);
  await ok(pa.cancelProposal(created.proposalId));
  assert.equal((await anon.proposal(created.proposalId)).state, "Canceled");

  const made = await pa.createActivity(stack.areaId, { kind: 0, startsAt: now - 10, endsAt: now + 10 ** 6 });
  await anon.waitForTx(made.txHash);
  const receipt = await createPublicClient({ transport: http(stack.rpcUrl) }).getTransactionReceipt({ hash: made.txHash });
  const createdEvent = decodeEvents(await anon.meta(), receipt.logs).find((e) => e.eventName === "ActivityCreated");
  const activityId = createdEvent.args.activityId;
  await ok(pa.closeActivity(activityId));
  assert.ok((await anon.activity(activityId)).closedAt > 0);

  const shop = privateKeyToAccount(keccak256(toHex("js sdk shop"))).address;
  const call = await pa.serviceCouncilCall(shop, true);
  assert.equal(call.to, (await anon.meta()).contracts.CommonsToken.address);
  assert.equal((await anon.service(shop)).accepted, false);  // nothing sent: the council decides
  const statement = await anon.serviceStatement(shop);
  assert.deepEqual([statement.count, statement.total], [0, "0"]);
  assert.match(await anon.serviceStatementCsv(shop), /^block,timestamp,tx_hash/);
  const rotation = await anon.oracleSignersCouncilCall([alice.address, bob.address, shop], 2);
  assert.equal(rotation.to, (await anon.meta()).contracts.AttestationHub.address);
  assert.match(rotation.description, /2-of-3/);
});

test("budget and secret-ballot methods reach their routes (no budget on this stack: each answers its 404)", async () => {
  const citizen = privateKeyToAccount(keccak256(toHex("js sdk budget citizen")));
  const notDeployed = (code) => (e) => e instanceof Co3ApiError && e.status === 404 && e.code === code;
  const budget = notDeployed("budget_not_deployed");
  const calls = {
    budgetRounds: () => anon.budgetRounds({ limit: 5 }),
    budgetRound: () => anon.budgetRound(1),
    budgetProject: () => anon.budgetProject(1, 0),
    budgetVoterStatus: () => anon.budgetVoterStatus(1, citizen.address),
    budgetRoundHistory: () => anon.budgetRoundHistory(1, { limit: 10 }),
    treasury: () => anon.treasury([0, 1]),
    voteBudget: () => anon.voteBudget(citizen, 1, [0, 2]),
    relayBudgetBallot: () => anon.relayBudgetBallot({ roundId: "1", selection: "5", voter: citizen.address,
      nonce: "0", signature: `0x${"11".repeat(65)}` }),
    createBudgetRound: () => pa.createBudgetRound({ areaId: String(stack.areaId), budget: "100", voteStart: 1,
      voteEnd: 2, projects: [{ cost: "10", payee: citizen.address, detailsHash: `0x${"22".repeat(32)}` }] }),
    finalizeBudgetRound: () => pa.finalizeBudgetRound(1),
    updateBudgetProject: () => pa.updateBudgetProject(1, 0, "InProgress", `0x${"33".repeat(32)}`),
  };
  for (const [name, call] of Object.entries(calls)) await assert.rejects(call(), budget, name);
  // the suite deploys SecretBallot (no election yet): the reads answer from it, the relay checks the signature
  await assert.rejects(anon.secretElection(1), (e) => e instanceof Co3ApiError && e.status === 404 &&
    /no secret election with id 1/.test(e.message), "secretElection");
  const state = await anon.secretVoterState(1, citizen.address);
  assert.deepEqual([state.electionId, state.voter, state.nonce], [1, citizen.address, 0]);
  await assert.rejects(anon.relaySecretBallot({ electionId: 1, voter: citizen.address, nonce: 1,
    ciphertexts: [[["1", "2"], ["3", "4"]]], bitProofs: [["1", "2", "3", "4"]], sumProof: ["1", "2"],
    signature: `0x${"11".repeat(65)}` }), (e) => e instanceof Co3ApiError && e.status === 400 &&
    e.code === "invalid_signature", "relaySecretBallot");
  // a PA write without the API key is refused before anything is read
  await assert.rejects(anon.finalizeBudgetRound(1), (e) => e instanceof Co3ApiError && e.status === 401);
});
