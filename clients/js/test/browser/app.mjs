// A minimal citizen web app (served from its own origin, not the API's): it checks in at an area and casts a
// relayed vote with @co3chain/sdk, then reports what happened to its origin (/report) for the test to read.
// Bundled by esbuild as any app bundler would (tests/appkit/test_browser_app.py).
import { privateKeyToAccount } from "viem/accounts";
import { Co3Client, Support } from "../../dist/index.js";

const show = (text) => { document.getElementById("log").textContent += text + "\n"; };

async function run() {
  const cfg = await (await fetch("/config.json")).json();
  const api = new Co3Client(cfg.apiUrl);  // cross-origin: CORS preflights are real here
  const citizen = privateKeyToAccount(cfg.citizenKey);
  const meta = await api.meta();
  show(`chain ${meta.chainId}, citizen ${citizen.address}`);

  // Check-in: the device signs; the app's own backend (same origin, holds the source secret) forwards it.
  const body = await api.signCheckIn(citizen, { eventId: `browser-${Date.now()}`, areaId: cfg.areaId,
    activityId: cfg.activityId, latE6: cfg.inside.latE6, lonE6: cfg.inside.lonE6, accuracyMm: 5000,
    timestampMs: cfg.nowMs });
  const forwarded = await (await fetch("/ar-backend/checkin", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();
  let state = forwarded.state;
  for (let i = 0; i < 300 && !["confirmed", "rejected"].includes(state); i++) {
    await new Promise((r) => setTimeout(r, 200));
    state = (await api.oracleEventStatus(forwarded.attestation_id)).state;
  }
  show(`check-in ${forwarded.attestation_id}: ${state}`);

  const sent = await api.vote(citizen, cfg.proposalId, Support.For);
  const mined = await api.waitForTx(sent.txHash);
  show(`vote ${sent.txHash}: ${mined.status}`);
  return { origin: location.origin, attestationId: forwarded.attestation_id, checkinState: state,
    voteTx: sent.txHash, voteStatus: mined.status };
}

run().then(
  (result) => fetch("/report", { method: "POST", body: JSON.stringify({ ok: true, ...result }) }),
  (err) => fetch("/report", { method: "POST", body: JSON.stringify({ ok: false, error: String(err?.stack || err) }) }),
);
