"""Blind RSA credentials: round trip, unlinkability of what the registrar sees, and an independent PSS check."""

from __future__ import annotations

import pytest
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pss

from co3chain.ballot import credential as cr


@pytest.fixture(scope="module")
def registrar() -> cr.Registrar:
    return cr.Registrar.generate(2048)


def test_blind_sign_round_trip_verifies_with_pycryptodome(registrar: cr.Registrar) -> None:
    msg = cr.credential_message(1, "0x" + "11" * 20, 3, "0x" + "22" * 20)
    blinded, state = cr.blind(registrar.public, msg)
    sig = cr.finalize(registrar.public, state, registrar.blind_sign(blinded))
    assert cr.verify(registrar.public, msg, sig)
    # independent implementation: pycryptodome's RSASSA-PSS verifier with SHA-256, salt length 0
    pub = RSA.construct((registrar.public.n, registrar.public.e))
    pss.new(pub, salt_bytes=0).verify(SHA256.new(msg), sig)
    assert not cr.verify(registrar.public, msg + b"x", sig)


def test_blinded_messages_differ_and_wrong_signature_caught(registrar: cr.Registrar) -> None:
    msg = cr.credential_message(1, "0x" + "11" * 20, 3, "0x" + "22" * 20)
    b1, s1 = cr.blind(registrar.public, msg)
    b2, _ = cr.blind(registrar.public, msg)
    assert b1 != b2  # the registrar sees fresh randomness each time, never the message
    other, _ = cr.blind(registrar.public, msg + b"!")
    with pytest.raises(cr.CredentialError):
        cr.finalize(registrar.public, s1, registrar.blind_sign(other))


def test_keystore_round_trip(tmp_path, registrar: cr.Registrar) -> None:
    path = tmp_path / "registrar.pem"
    registrar.save(path, "pw")
    assert b"ENCRYPTED" in path.read_bytes()
    assert cr.Registrar.load(path, "pw").public == registrar.public
    with pytest.raises(cr.CredentialError):
        cr.Registrar.load(path, "wrong")
    with pytest.raises(cr.CredentialError):
        registrar.save(path, "pw")
