"""``co3chain trustee …`` (key ceremony and decryption, for PA trustees) and ``co3chain ballot …``.

A trustee's steps, each a separate command because trustees act on their own machines and schedules:
``keygen`` (post a transport key, kept in a keystore) → ``deal`` (once all transport keys are posted) →
``share`` (once all dealings are posted: open and check the share, kept in a keystore) → ``decrypt``
(after the vote ends).  Anyone can then ``ballot tally`` and ``ballot audit``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from co3chain.errors import Co3Error

DEFAULT_RPC = "http://127.0.0.1:8545"


def _connection(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--rpc", default=DEFAULT_RPC, show_default=True, help="JSON-RPC URL of a node.")(f)
    f = click.option("--contract", "contract", default=None, help="SecretBallot address.")(f)
    f = click.option("--manifest", "manifest", default=None, type=click.Path(exists=True, dir_okay=False),
                     help="Deployment manifest (takes the SecretBallot address from it).")(f)
    return f


def _account(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--account-keystore", required=True, type=click.Path(exists=True, dir_okay=False),
                     help="Keystore of the acting account (the trustee's PA officer key, or a relayer).")(f)
    f = click.option("--password-file", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Keystore password file (default: $CO3CHAIN_PASSWORD).")(f)
    return f


def _client(rpc: str, contract: str | None, manifest: str | None) -> Any:
    from web3 import HTTPProvider, Web3

    from co3chain.ballot.client import SecretBallotClient
    from co3chain.contracts.deploy import load_manifest, qbft_compatible

    if contract is None:
        if manifest is None:
            raise Co3Error("give --contract or --manifest")
        entry = load_manifest(manifest)["contracts"].get("SecretBallot")
        if entry is None:
            raise Co3Error(f"manifest {manifest} has no SecretBallot")
        contract = entry["address"]
    w3 = qbft_compatible(Web3(HTTPProvider(rpc, request_kwargs={"timeout": 60})))
    if not w3.is_connected():
        raise Co3Error(f"cannot reach a node at {rpc}")
    return SecretBallotClient(w3, contract)


def _load_account(path: str, password_file: str | None) -> Any:
    from eth_account import Account

    from co3chain.keys import load_private_key, read_password

    return Account.from_key(load_private_key(path, read_password(password_file)))


@click.group("trustee")
def trustee() -> None:
    """PA trustee steps of a secret election: key ceremony and partial decryption."""


@trustee.command("keygen")
@_connection
@_account
@click.option("--ceremony", type=int, required=True, help="Key ceremony id (opened by the council).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for this trustee's secret keystores.")
def keygen_cmd(rpc: str, contract: str | None, manifest: str | None, account_keystore: str,
               password_file: str | None, ceremony: int, out: Path) -> None:
    """Make and post this trustee's transport key (step 1 of the key ceremony)."""
    from co3chain.ballot.keystore import save_secret
    from co3chain.keys import read_password

    client = _client(rpc, contract, manifest)
    acct = _load_account(account_keystore, password_file)
    index = client.trustee_index(ceremony, acct.address)
    path = out / f"transport-{ceremony}-{index}.json"
    if path.exists():
        raise Co3Error(f"{path} already exists: this trustee already made its transport key")
    secret = client.post_transport_key(acct, ceremony)
    save_secret(path, read_password(password_file), secret,
                {"role": "transport", "contract": client.address, "chainId": client.chain_id,
                 "ceremony": ceremony, "index": index})
    click.echo(f"trustee {index}: transport key posted; secret kept in {path}")


@trustee.command("deal")
@_connection
@_account
@click.option("--ceremony", type=int, required=True)
def deal_cmd(rpc: str, contract: str | None, manifest: str | None, account_keystore: str,
             password_file: str | None, ceremony: int) -> None:
    """Post this trustee's dealing (step 2, after every trustee ran keygen)."""
    client = _client(rpc, contract, manifest)
    acct = _load_account(account_keystore, password_file)
    client.post_dealing(acct, ceremony)
    n, _, complete, _, _ = client.ceremony(ceremony)
    click.echo(f"dealing posted; ceremony {ceremony} {'complete' if complete else 'waiting for other dealings'}")


@trustee.command("share")
@_connection
@_account
@click.option("--transport-keystore", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def share_cmd(rpc: str, contract: str | None, manifest: str | None, account_keystore: str,
              password_file: str | None, transport_keystore: str, out: Path) -> None:
    """Open and check this trustee's share of every dealing, prove bad ones on chain, confirm (step 3)."""
    from co3chain.ballot.keystore import load_secret, save_secret
    from co3chain.keys import read_password

    client = _client(rpc, contract, manifest)
    password = read_password(password_file)
    secret, meta = load_secret(transport_keystore, password)
    _check_meta(meta, client, "transport")
    acct = _load_account(account_keystore, password_file)
    if client.trustee_index(meta["ceremony"], acct.address) != meta["index"]:
        raise Co3Error("the account and the transport keystore belong to different trustees")
    share = client.settle_shares(acct, meta["ceremony"], secret, say=click.echo)
    path = out / f"share-{meta['ceremony']}-{meta['index']}.json"
    version = 1
    while path.exists():  # a dealer was disqualified after an earlier run: keep both, the new one is current
        version += 1
        path = out / f"share-{meta['ceremony']}-{meta['index']}-v{version}.json"
    save_secret(path, password, share, {**meta, "role": "share"})
    complete = client.ceremony(meta["ceremony"])[2]
    click.echo(f"trustee {meta['index']}: share checked against every qualified dealer's commitments and"
               f" confirmed; kept in {path}" + ("; the ceremony is complete" if complete else ""))


@trustee.command("decrypt")
@_connection
@_account
@click.option("--election", type=int, required=True)
@click.option("--share-keystore", required=True, type=click.Path(exists=True, dir_okay=False))
def decrypt_cmd(rpc: str, contract: str | None, manifest: str | None, account_keystore: str,
                password_file: str | None, election: int, share_keystore: str) -> None:
    """Post this trustee's partial decryption of an ended election, with proofs."""
    from co3chain.ballot.keystore import load_secret
    from co3chain.keys import read_password

    client = _client(rpc, contract, manifest)
    acct = _load_account(account_keystore, password_file)
    share, meta = load_secret(share_keystore, read_password(password_file))
    _check_meta(meta, client, "share")
    info = client.election(election)
    if info.ceremony_id != meta["ceremony"]:
        raise Co3Error(f"election {election} uses ceremony {info.ceremony_id}, this share is for {meta['ceremony']}")
    client.post_decryption(acct, election, share)
    click.echo(f"trustee {meta['index']}: partial decryption of election {election} posted")


def _check_meta(meta: dict[str, Any], client: Any, role: str) -> None:
    if meta.get("role") != role:
        raise Co3Error(f"this keystore holds a {meta.get('role')} secret, not a {role}")
    if meta.get("contract", "").lower() != client.address.lower() or meta.get("chainId") != client.chain_id:
        raise Co3Error("this keystore belongs to another SecretBallot contract or chain")


@click.group("ballot")
def ballot() -> None:
    """Secret ballots: tally, audit, demo."""


@ballot.command("tally")
@_connection
@_account
@click.option("--election", type=int, required=True)
def tally_cmd(rpc: str, contract: str | None, manifest: str | None, account_keystore: str,
              password_file: str | None, election: int) -> None:
    """Combine t posted decryptions and record the checked result on-chain (any account may do it)."""
    client = _client(rpc, contract, manifest)
    counts = client.finalize(_load_account(account_keystore, password_file), election)
    click.echo(f"election {election}: result {counts} recorded")


@ballot.command("audit")
@_connection
@click.option("--election", type=int, required=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def audit_cmd(rpc: str, contract: str | None, manifest: str | None, election: int, as_json: bool) -> None:
    """Re-verify every ballot proof, the homomorphic sum and every decryption proof from chain data."""
    from co3chain.audit.secret_ballot import audit_election

    client = _client(rpc, contract, manifest)
    report = audit_election(client, election, progress=None if as_json else
                            lambda k, n: click.echo(f"  … {k}/{n} ballots", err=True))
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.render())
    if not report.ok:
        raise SystemExit(2)


@ballot.command("demo")
@click.option("--citizens", type=click.IntRange(1, 200), default=8, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def demo_cmd(citizens: int, as_json: bool) -> None:
    """One secret election, 3-of-4 PA trustees, on an in-process chain (no node needed)."""
    from co3chain.ballot.demo import run_in_process

    outcome = run_in_process(citizens, say=(lambda s: None) if as_json else click.echo)
    if as_json:
        click.echo(json.dumps(outcome.to_json(), indent=2))
    if outcome.counts != outcome.expected or not outcome.audit.ok:
        raise Co3Error(f"demo result {outcome.counts} differs from the votes cast {outcome.expected}")


@ballot.command("registrar-keygen")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the encrypted RSA key (PKCS#8, scrypt).")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--bits", type=click.Choice(["2048", "3072", "4096"]), default="2048", show_default=True)
def registrar_keygen_cmd(out: Path, password_file: str | None, bits: str) -> None:
    """Make a PA registrar's credential-signing key; prints what the council approves on-chain."""
    from co3chain.ballot.credential import Registrar
    from co3chain.keys import read_password

    password = read_password(password_file)
    reg = Registrar.generate(int(bits))
    reg.save(out, password)
    click.echo(f"registrar key written to {out}")
    click.echo(f"modulus  0x{reg.public.modulus_bytes().hex()}")
    click.echo(f"exponent 0x{reg.public.exponent_bytes().hex()}")
    click.echo("approve it with SecretBallot.addRegistrarKey(modulus, exponent) through the council/timelock")


@ballot.command("issue")
@click.option("--registrar-key", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--election", type=int, required=True)
@click.option("--citizen", required=True, help="The PA's reference of the verified citizen (stored hashed).")
@click.option("--blinded", required=True, help="Hex blinded message from the citizen's client.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Issuance log (one line per credential); refuses a second credential per citizen.")
def issue_cmd(registrar_key: str, password_file: str | None, election: int, citizen: str, blinded: str,
              log_path: Path) -> None:
    """Blind-sign one credential for a verified citizen, once per election (RFC 9474 BlindSign)."""
    import hashlib
    import os

    from co3chain.ballot.credential import Registrar
    from co3chain.keys import read_password

    ref = hashlib.sha256(f"{election}:{citizen}".encode()).hexdigest()
    issued = []
    if log_path.exists():
        issued = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if any(e["ref"] == ref for e in issued):
        raise Co3Error(f"citizen {citizen!r} already received a credential for election {election}")
    reg = Registrar.load(registrar_key, read_password(password_file))
    try:
        raw = bytes.fromhex(blinded[2:] if blinded.startswith("0x") else blinded)
    except ValueError:
        raise Co3Error("--blinded is not hex") from None
    signature = reg.blind_sign(raw)
    with open(log_path, "a", encoding="utf-8") as fh:  # logged before the signature is handed out
        fh.write(json.dumps({"election": election, "ref": ref}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    count = sum(1 for e in issued if e["election"] == election) + 1
    click.echo(f"0x{signature.hex()}")
    click.echo(f"credential {count} issued for election {election}", err=True)
