"""Binding of ``SecretBallot``: what trustees, voters, relayers and auditors do, on any web3 endpoint.

Why one module: the CLI, the API route, the demo, the tests and the benchmark all run the same steps
(post a transport key, deal, open shares, cast, decrypt, finalize) and must encode points, proofs and
digests identically to the contract.  Transactions are signed locally by the acting account (trustee,
relayer), so nothing depends on keys unlocked in a node.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak, to_checksum_address

from co3chain.ballot import bn254 as ec
from co3chain.ballot import dkg
from co3chain.ballot import proofs as pf
from co3chain.ballot.credential import PublicKey, credential_message
from co3chain.contracts.deploy import fee_fields
from co3chain.errors import Co3Error

CIPHER_ARRAY = "((uint256,uint256),(uint256,uint256))[]"


class BallotClientError(Co3Error):
    """A secret-ballot step cannot be done (not a trustee, ceremony incomplete, transaction reverted...)."""


def load_abi() -> list[dict[str, Any]]:
    from co3chain.contracts.artifacts_dev import artifact

    return artifact("SecretBallot")["abi"]


def send_as(w3: Any, fn: Any, account: Any, gas: int | None = None) -> Any:
    """Sign ``fn`` with ``account`` locally, send it and wait; raise a readable error on revert."""
    try:
        tx = fn.build_transaction({"from": account.address, "nonce": w3.eth.get_transaction_count(
            account.address, "pending"), "chainId": w3.eth.chain_id, **fee_fields(w3),
            **({"gas": gas} if gas else {})})
    except Exception as exc:  # pre-flight revert: decode the custom error name if we can
        raise BallotClientError(f"{fn.fn_name} would revert: {_decode(exc)}") from None
    if "maxFeePerGas" in tx:  # older web3 (brownie's) also fills gasPrice, which a typed transaction refuses
        tx.pop("gasPrice", None)
    signed = account.sign_transaction(tx)
    raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))
    if receipt["status"] != 1:
        raise BallotClientError(f"{fn.fn_name} reverted in tx {receipt['transactionHash'].hex()}")
    return receipt


def _decode(exc: Exception) -> str:
    """The custom error name and arguments from a revert, whatever shape the provider gave it."""
    from co3chain.contracts.deploy import ErrorDecoder

    candidates = [getattr(exc, "data", None), *exc.args]
    for data in candidates:
        match = re.search(r"b['\"]", data) if isinstance(data, str) else None
        if match:
            try:
                data = ast.literal_eval(data[match.start():])
            except (ValueError, SyntaxError):
                continue
        if isinstance(data, str) and data.startswith("0x"):
            try:
                data = bytes.fromhex(data[2:])
            except ValueError:
                continue
        if isinstance(data, bytes | bytearray) and len(data) >= 4:
            decoded = ErrorDecoder([load_abi()]).decode(bytes(data))
            if decoded:
                return decoded
    return str(exc)


def point(raw: Any) -> ec.Point:
    """A point from a call result (tuple) or a decoded event (mapping with x, y)."""
    if hasattr(raw, "keys"):
        return ec.from_evm(int(raw["x"]), int(raw["y"]))
    return ec.from_evm(int(raw[0]), int(raw[1]))


def cipher(raw: Any) -> pf.Ciphertext:
    if hasattr(raw, "keys"):
        return pf.Ciphertext(point(raw["a"]), point(raw["b"]))
    return pf.Ciphertext(point(raw[0]), point(raw[1]))


@dataclass(frozen=True)
class ElectionInfo:
    election_id: int
    ceremony_id: int
    registrar_key_id: int
    proposal_id: int
    start: int
    end: int
    options: int
    voters: int
    decryptions: int
    tallied: bool


def deploy_secret_ballot(w3: Any, admin: Any, manager: Any = None) -> tuple[SecretBallotClient, Any]:
    """Deploy a bare ``SecretBallot`` administered by ``admin`` (and let ``manager`` run elections, if given);
    returns its client and the deploy receipt.  For demos, benches and tests on a throw-away chain: a real
    network deploys it with the rest of the suite, which hands the admin role to the timelock."""
    from co3chain.contracts.artifacts_dev import artifact

    art = artifact("SecretBallot")
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    receipt = send_as(w3, factory.constructor(admin.address), admin, gas=8_000_000)
    client = SecretBallotClient(w3, receipt["contractAddress"])
    if manager is not None:
        f = client.contract.functions
        send_as(w3, f.grantRole(f.ELECTION_MANAGER_ROLE().call(), manager.address), admin)
    return client, receipt


class SecretBallotClient:
    """Reads and writes one deployed ``SecretBallot``."""

    def __init__(self, w3: Any, address: str) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_abi())
        self.chain_id = int(w3.eth.chain_id)

    # -- reads ---------------------------------------------------------------------------------------------

    def election(self, election_id: int) -> ElectionInfo:
        raw = self.contract.functions.election(election_id).call()
        if int(raw[5]) == 0:
            raise BallotClientError(f"election {election_id} does not exist")
        return ElectionInfo(election_id, *(int(v) for v in raw[:8]), bool(raw[8]))

    def ceremony(self, ceremony_id: int) -> tuple[int, int, bool, list[str], list[ec.Point]]:
        """(trustees, threshold, complete, trustee addresses, aggregate commitments)."""
        info, trustees, agg = self.contract.functions.ceremony(ceremony_id).call()
        if int(info[0]) == 0:
            raise BallotClientError(f"key ceremony {ceremony_id} does not exist")
        return int(info[0]), int(info[1]), bool(info[6]), list(trustees), [point(p) for p in agg]

    def election_key(self, ceremony_id: int) -> tuple[int, int]:
        n, t, complete, _, agg = self.ceremony(ceremony_id)
        if not complete or agg[0] is None:
            raise BallotClientError(f"key ceremony {ceremony_id} is not complete")
        return agg[0]

    def trustee_index(self, ceremony_id: int, address: str) -> int:
        trustees = self.ceremony(ceremony_id)[3]
        try:
            return trustees.index(to_checksum_address(address)) + 1
        except ValueError:
            raise BallotClientError(f"{address} is not a trustee of ceremony {ceremony_id}") from None

    def registrar_key(self, key_id: int) -> PublicKey:
        modulus, exponent, active = self.contract.functions.registrarKey(key_id).call()
        if not modulus:
            raise BallotClientError(f"registrar key {key_id} does not exist")
        return PublicKey(int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big"))

    def totals(self, election_id: int) -> list[pf.Ciphertext]:
        return [cipher(c) for c in self.contract.functions.totals(election_id).call()]

    def _logs(self, event: str, **filters: Any) -> list[Any]:
        ev = getattr(self.contract.events, event)
        return list(ev.get_logs(from_block=0, argument_filters=filters or None))

    def dealings(self, ceremony_id: int, qualified_only: bool = True) -> list[dkg.Dealing]:
        """Dealings posted on chain (by default without dealers disqualified by a proven complaint)."""
        out = []
        for log in self._logs("DealingPosted", ceremonyId=ceremony_id):
            a = log["args"]
            if qualified_only and self.contract.functions.isDisqualified(ceremony_id, int(a["index"])).call():
                continue
            out.append(dkg.Dealing(int(a["index"]), tuple(point(p) for p in a["commitments"]),
                                   tuple(int(s) for s in a["encryptedShares"]), point(a["ephemeral"]),
                                   pf.DleqProof(int(a["pok"]["c"]), int(a["pok"]["z"]))))
        return sorted(out, key=lambda d: d.dealer)

    def ballot_domain(self, election_id: int, voter: str) -> bytes:
        return pf.ballot_domain(self.chain_id, self.address, election_id, voter)

    def credential_message(self, election_id: int, voter: str) -> bytes:
        return credential_message(self.chain_id, self.address, election_id, voter)

    # -- trustees -------------------------------------------------------------------------------------------

    def post_transport_key(self, trustee: Any, ceremony_id: int) -> int:
        """Make and post a transport key; returns its secret (keep it in a keystore until shares are opened)."""
        self.trustee_index(ceremony_id, trustee.address)
        dom = pf.ceremony_domain(self.chain_id, self.address, ceremony_id, trustee.address)
        secret, pub, pok = dkg.make_transport_key(dom)
        send_as(self.w3, self.contract.functions.postTransportKey(ceremony_id, ec.to_evm(pub), pok.to_evm()),
                trustee)
        return secret

    def post_dealing(self, trustee: Any, ceremony_id: int) -> None:
        """Deal this trustee's polynomial to all trustees' transport keys (the polynomial is then forgotten)."""
        n, t, _, trustees, _ = self.ceremony(ceremony_id)
        index = self.trustee_index(ceremony_id, trustee.address)
        tks = [point(self.contract.functions.transportKey(ceremony_id, j).call()) for j in range(1, n + 1)]
        if any(k is None for k in tks):
            raise BallotClientError(f"ceremony {ceremony_id}: not every trustee has posted a transport key yet")
        dom = pf.ceremony_domain(self.chain_id, self.address, ceremony_id, trustee.address)
        dealing, _ = dkg.deal(index, t, tks, ceremony_id, dom)
        send_as(self.w3, self.contract.functions.postDealing(
            ceremony_id, [ec.to_evm(c) for c in dealing.commitments], list(dealing.encrypted_shares),
            ec.to_evm(dealing.ephemeral), dealing.pok.to_evm()), trustee)

    def open_share(self, ceremony_id: int, index: int, transport_secret: int) -> int:
        """This trustee's final share from the qualified dealings on chain, each checked against its commitments."""
        n, _, _, _, agg = self.ceremony(ceremony_id)
        dealings = self.dealings(ceremony_id)
        if len(self.dealings(ceremony_id, qualified_only=False)) != n:
            raise BallotClientError(f"ceremony {ceremony_id}: wait until every trustee has dealt")
        share = dkg.final_share(dealings, index, transport_secret, ceremony_id)
        if ec.g_mul(share) != dkg.verification_key(agg, index):
            raise BallotClientError("the opened share does not match the on-chain verification key")
        return share

    def settle_shares(self, trustee: Any, ceremony_id: int, transport_secret: int,
                      say: Callable[[str], None] | None = None) -> int:
        """Check every dealing meant for ``trustee``; prove each bad one on chain (the dealer is disqualified),
        then confirm and return the final share."""
        index = self.trustee_index(ceremony_id, trustee.address)
        tk = point(self.contract.functions.transportKey(ceremony_id, index).call())
        dom = pf.ceremony_domain(self.chain_id, self.address, ceremony_id, trustee.address)
        for dealing in self.dealings(ceremony_id):
            try:
                dkg.open_share(dealing, index, transport_secret, ceremony_id)
            except pf.ProofError:
                dh, proof = dkg.complaint(dealing, transport_secret, tk, dom)
                send_as(self.w3, self.contract.functions.complain(
                    ceremony_id, dealing.dealer, list(dealing.encrypted_shares), ec.to_evm(dh), proof.to_evm()),
                    trustee)
                if say:
                    say(f"trustee {dealing.dealer} dealt a bad share: complaint proven, dealer disqualified")
        share = self.open_share(ceremony_id, index, transport_secret)
        send_as(self.w3, self.contract.functions.confirmShares(ceremony_id), trustee)
        return share

    def post_decryption(self, trustee: Any, election_id: int, share: int) -> None:
        info = self.election(election_id)
        index = self.trustee_index(info.ceremony_id, trustee.address)
        vk = ec.g_mul(share)
        on_chain = point(self.contract.functions.verificationKey(info.ceremony_id, index).call())
        if vk != on_chain:
            raise BallotClientError(f"this share is not trustee {index}'s current share of ceremony"
                                    f" {info.ceremony_id} (a dealer was disqualified after it was opened?):"
                                    " run `co3chain trustee share` again")
        dom = pf.decrypt_domain(self.chain_id, self.address, election_id, trustee.address)
        ds, prs = [], []
        for ct in self.totals(election_id):
            d, pr = pf.partial_decrypt(share, vk, ct, dom)
            ds.append(ec.to_evm(d))
            prs.append(pr.to_evm())
        send_as(self.w3, self.contract.functions.postDecryption(election_id, ds, prs), trustee)

    def compute_tally(self, election_id: int) -> tuple[list[int], list[int]]:
        """(trustee indices used, counts) from the first ``t`` posted decryptions; raises if fewer."""
        info = self.election(election_id)
        _, t, _, _, _ = self.ceremony(info.ceremony_id)
        posted = sorted({int(log["args"]["index"]): log for log in
                         self._logs("DecryptionPosted", electionId=election_id)}.items())
        if len(posted) < t:
            raise BallotClientError(f"election {election_id}: {len(posted)} of the {t} needed decryptions posted")
        chosen = posted[:t]
        totals = self.totals(election_id)
        counts = []
        for k, ct in enumerate(totals):
            partials = {i: point(log["args"]["shares"][k]) for i, log in chosen}
            counts.append(pf.discrete_log(pf.combine(ct, partials), info.voters))
        return [i for i, _ in chosen], counts

    def finalize(self, sender: Any, election_id: int) -> list[int]:
        indices, counts = self.compute_tally(election_id)
        send_as(self.w3, self.contract.functions.finalizeTally(election_id, indices, counts), sender)
        return counts

    # -- voters -------------------------------------------------------------------------------------------

    def prepare_ballot(self, election_id: int, voter: Any, choice: int, previous: Sequence[pf.Ciphertext] = (),
                       nonce: int | None = None, info: ElectionInfo | None = None,
                       key: tuple[int, int] | None = None) -> dict[str, Any]:
        """Encrypt, prove and sign a ballot locally; the result is what a relayer submits (see :meth:`relay`)."""
        info = info or self.election(election_id)
        key = key or self.election_key(info.ceremony_id)
        if nonce is None:
            nonce = int(self.contract.functions.voterState(election_id, voter.address).call()[0]) + 1
        ballot = pf.make_ballot(key, choice, info.options, self.ballot_domain(election_id, voter.address))
        cts, bits, sum_proof = ballot.to_evm()
        return {"electionId": election_id, "voter": voter.address, "nonce": nonce, "ciphertexts": cts,
                "bitProofs": bits, "sumProof": sum_proof, "previous": [c.to_evm() for c in previous],
                "signature": sign_ballot(voter, self.chain_id, self.address, election_id, nonce, cts)}

    def relay(self, relayer: Any, body: dict[str, Any], credential: bytes = b"") -> Any:
        """Submit a prepared ballot from the relayer's account."""
        return send_as(self.w3, self.cast_fn(body, credential), relayer)

    def cast_fn(self, body: dict[str, Any], credential: bytes = b"") -> Any:
        ballot = (to_checksum_address(body["voter"]), int(body["nonce"]), body["ciphertexts"], body["bitProofs"],
                  body["sumProof"])
        return self.contract.functions.castBallot(int(body["electionId"]), ballot, credential,
                                                  body.get("previous", []), body["signature"])


def ciphertexts_hash(cts: Sequence[Any]) -> bytes:
    return keccak(abi_encode([CIPHER_ARRAY], [[tuple(tuple(p) for p in c) for c in cts]]))


def ballot_digest(chain_id: int, contract: str, election_id: int, voter: str, nonce: int, cts: Sequence[Any]
                  ) -> bytes:
    """Exactly ``SecretBallot.ballotDigest``."""
    return keccak(abi_encode(["bytes32", "uint256", "address", "uint256", "address", "uint64", "bytes32"],
                             [keccak(text="co3chain.SecretBallot.ballot-signature.v1"), chain_id,
                              to_checksum_address(contract), election_id, to_checksum_address(voter), nonce,
                              ciphertexts_hash(cts)]))


def sign_ballot(voter: Any, chain_id: int, contract: str, election_id: int, nonce: int, cts: Sequence[Any]
                ) -> bytes:
    digest = ballot_digest(chain_id, contract, election_id, voter.address, nonce, cts)
    return bytes(Account.sign_message(encode_defunct(primitive=digest), voter.key).signature)


ProgressFn = Callable[[str], None]
