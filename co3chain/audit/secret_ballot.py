"""Independent audit of a secret election from chain data alone (events and contract state over RPC).

What it re-checks, without trusting the contract's own verification: the key ceremony (every proof of
possession, the election key as the sum of the dealers' constant-term commitments), every ballot's 0/1 and
sum proofs, the homomorphic sum with re-votes replaced (must equal the on-chain accumulator), every
partial decryption proof, and the published counts (Lagrange combination of t decryptions, small discrete
log).  The verdict is plain: each check passes or names what failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from co3chain.audit.report import AuditReport
from co3chain.ballot import bn254 as ec
from co3chain.ballot import dkg
from co3chain.ballot import proofs as pf
from co3chain.ballot.client import SecretBallotClient, cipher, point


@dataclass
class BallotAudit:
    """Result of :func:`audit_election`; ``ok`` only when every check passed."""

    election_id: int
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    ballots_verified: int = 0
    voters: int = 0
    counts: list[int] | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(passed for _, passed, _ in self.checks)

    def check(self, name: str, passed: bool, detail: str = "") -> None:
        self.checks.append((name, passed, detail))

    def to_json(self) -> dict[str, Any]:
        return {"electionId": self.election_id, "ok": self.ok, "ballotsVerified": self.ballots_verified,
                "voters": self.voters, "counts": self.counts, "seconds": round(self.seconds, 3),
                "checks": [{"name": n, "ok": p, "detail": d} for n, p, d in self.checks]}

    def render(self) -> str:
        lines = [f"Secret election {self.election_id}: {'VERIFIED' if self.ok else 'FAILED'}"]
        for name, passed, detail in self.checks:
            lines.append(f"  [{'ok' if passed else 'FAIL'}] {name}" + (f" — {detail}" if detail else ""))
        if self.counts is not None:
            lines.append(f"  result: {self.counts} ({self.voters} voters)")
        rate = self.ballots_verified / self.seconds if self.seconds else 0.0
        lines.append(f"  {self.ballots_verified} ballot(s) verified in {self.seconds:.1f} s ({rate:.0f}/s)")
        return "\n".join(lines)


def audit_ceremony(client: SecretBallotClient, ceremony_id: int, report: BallotAudit) -> tuple[int, list] | None:
    n, t, complete, trustees, agg = client.ceremony(ceremony_id)
    report.check("key ceremony complete", complete, f"{t}-of-{n} trustees")
    if not complete:
        return None
    bad = []
    for log in client._logs("TransportKeyPosted", ceremonyId=ceremony_id):
        a = log["args"]
        dom = pf.ceremony_domain(client.chain_id, client.address, ceremony_id, a["trustee"])
        if not pf.verify_schnorr(point(a["key"]), pf.DleqProof(a["pok"]["c"], a["pok"]["z"]), dom,
                                 pf.KIND_TRANSPORT_POK):
            bad.append(f"transport key {a['index']}")
    every = client.dealings(ceremony_id, qualified_only=False)
    for d in every:
        dom = pf.ceremony_domain(client.chain_id, client.address, ceremony_id, trustees[d.dealer - 1])
        if len(d.commitments) != t or not dkg.verify_dealing_pok(d, dom):
            bad.append(f"dealing {d.dealer}")
    report.check("every trustee proved its key material", not bad and len(every) == n, ", ".join(bad))
    qualified = client.dealings(ceremony_id)
    out = sorted({d.dealer for d in every} - {d.dealer for d in qualified})
    report.check("election key = sum of the qualified dealers' commitments",
                 dkg.aggregate_commitments(qualified) == agg,
                 f"disqualified by proven complaints: {out}" if out else "")
    return t, agg


def audit_election(client: SecretBallotClient, election_id: int,
                   progress: Callable[[int, int], None] | None = None) -> BallotAudit:
    """Re-verify everything about ``election_id``; see the module docstring."""
    started = time.perf_counter()
    report = BallotAudit(election_id)
    info = client.election(election_id)
    ceremony = audit_ceremony(client, info.ceremony_id, report)
    if ceremony is None:
        return report
    t, agg = ceremony
    key = agg[0]
    logs = client._logs("BallotCast", electionId=election_id)
    current: dict[str, list[pf.Ciphertext]] = {}
    nonces: dict[str, int] = {}
    bad_ballots: list[str] = []
    for k, log in enumerate(logs):
        a = log["args"]
        voter, b = a["voter"], a["ballot"]
        ballot = pf.Ballot(tuple(cipher(c) for c in b["ciphertexts"]),
                           tuple(pf.BitProof(p["c0"], p["c1"], p["z0"], p["z1"]) for p in b["bitProofs"]),
                           pf.DleqProof(b["sumProof"]["c"], b["sumProof"]["z"]))
        dom = client.ballot_domain(election_id, voter)
        if (not pf.verify_ballot(key, ballot, info.options, dom) or b["nonce"] != nonces.get(voter, 0) + 1
                or bool(a["replaced"]) != (voter in current)):
            bad_ballots.append(f"{voter} #{b['nonce']}")
        current[voter] = list(ballot.ciphertexts)
        nonces[voter] = b["nonce"]
        report.ballots_verified += 1
        if progress and (k + 1) % 100 == 0:
            progress(k + 1, len(logs))
    report.voters = len(current)
    report.check("every ballot proof verifies (0/1 per option, exactly one choice, bound to this election)",
                 not bad_ballots, ", ".join(bad_ballots[:5]))
    sums = [pf.Ciphertext(ec.sum_points([v[i].a for v in current.values()]),
                          ec.sum_points([v[i].b for v in current.values()])) for i in range(info.options)]
    report.check("homomorphic sum of the last ballots = on-chain accumulator", sums == client.totals(election_id))
    report.check("voter count matches", report.voters == info.voters, f"{report.voters} vs {info.voters}")

    _, _, _, trustees, _ = client.ceremony(info.ceremony_id)
    partials: dict[int, list[ec.Point]] = {}
    bad_dec = []
    for log in client._logs("DecryptionPosted", electionId=election_id):
        a = log["args"]
        i = int(a["index"])
        vk = dkg.verification_key(agg, i)
        dom = pf.decrypt_domain(client.chain_id, client.address, election_id, trustees[i - 1])
        ds = [point(p) for p in a["shares"]]
        ok = all(pf.verify_partial(vk, ct, d, pf.DleqProof(p["c"], p["z"]), dom)
                 for ct, d, p in zip(sums, ds, a["proofs"], strict=True))
        if not ok:
            bad_dec.append(str(i))
        partials[i] = ds
    report.check("every partial decryption proof verifies", not bad_dec, ", ".join(bad_dec))
    finals = client._logs("TallyFinalized", electionId=election_id)
    if len(partials) >= t:
        chosen = sorted(partials)[:t]
        counts = [pf.discrete_log(pf.combine(ct, {i: partials[i][k] for i in chosen}), max(report.voters, 1))
                  for k, ct in enumerate(sums)]
        report.counts = counts
        if finals:
            published = [int(c) for c in finals[-1]["args"]["counts"]]
            report.check("published result = decrypted sum", published == counts, f"published {published}")
        else:
            report.check("result finalized on-chain", False, "not yet: run `co3chain ballot tally`")
    else:
        report.check("enough decryptions to count", False, f"{len(partials)} of {t} trustees posted")
    report.seconds = time.perf_counter() - started
    return report


#: finding kind of each failed check (first words of the check name → kind), for the plain verdict
_CHECK_KINDS = (("key ceremony", "ceremony-incomplete"), ("every trustee", "bad-key-proof"),
                ("election key", "election-key-mismatch"), ("every ballot", "bad-ballot-proof"),
                ("homomorphic", "sum-mismatch"), ("voter count", "voter-count-mismatch"),
                ("every partial", "bad-decryption-proof"), ("published", "result-mismatch"),
                ("result finalized", "not-finalized"), ("enough decryptions", "not-decrypted"))


def to_audit_report(audit: BallotAudit, contract: str, chain_id: int) -> AuditReport:
    """The :class:`AuditReport` of ``co3chain audit ballot``: every failed check becomes an error finding, so
    the plain verdict, JSON and HTML read the same as the other audits."""
    report = AuditReport("ballot", {"electionId": audit.election_id, "contract": contract, "chainId": chain_id})
    for name, passed, detail in audit.checks:
        report.checked.append({"check": name, "ok": passed, "detail": detail})
        if not passed:
            kind = next((k for prefix, k in _CHECK_KINDS if name.startswith(prefix)), "ballot-check")
            report.add(kind, f"{name}: FAILED" + (f" ({detail})" if detail else ""))
    report.stats.update({"ballotsVerified": audit.ballots_verified, "voters": audit.voters, "counts": audit.counts,
                         "seconds": round(audit.seconds, 3), "checks": len(audit.checks)})
    return report
