"""QBFT extraData codec against the Besu/GoQuorum vectors of DESIGN.md and malformed inputs."""

import pytest
import rlp

from co3chain.consensus.qbft.extradata import (
    ExtraDataError,
    ExtraDataRlpError,
    InvalidRoundError,
    InvalidSealError,
    InvalidValidatorError,
    InvalidVanityError,
    InvalidVoteError,
    QbftExtraData,
    Vote,
)

BESU_CODEC = bytes.fromhex(
    "f8f0a00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20ea9400000000000000000000000000000000"
    "00000001940000000000000000000000000000000000000002d794000000000000000000000000000000000000000181ff83fedcba"
    "f886b841000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000"
    "0000000000000000000000000000000a00b841000000000000000000000000000000000000000000000000000000000000000a00"
    "0000000000000000000000000000000000000000000000000000000000000100"
)
GENESIS_2 = bytes.fromhex(
    "f84fa00000000000000000000000000000000000000000000000000000000000000000ea94be068f726a13c8d46c44be6ce9d275"
    "600e1735a4945ff6f4b66a46a2b2310a6f3a93aaddc0d9a1c193c080c0"
)
BESU_DOCS_4 = bytes.fromhex(
    "f87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e45706cc08b8f44b11e43c"
    "ba0cfc5892cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee02d7bcbc1bf1236b8c15148971e1de94ab5e7f"
    "4061c605820d3744227eed91ff8e2c8908c080c0"
)


def _seal(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def test_besu_codec_vector_decodes_and_roundtrips() -> None:
    x = QbftExtraData.decode(BESU_CODEC)
    assert x.vanity == bytes(range(1, 33))
    assert x.validators == [b"\x00" * 19 + b"\x01", b"\x00" * 19 + b"\x02"]
    assert x.vote == Vote(b"\x00" * 19 + b"\x01", True)
    assert x.round == 0x00FEDCBA
    assert x.seals == [_seal(1, 10, 0), _seal(10, 1, 0)]
    assert x.encode() == BESU_CODEC


def test_besu_codec_vector_built_from_fields() -> None:
    x = QbftExtraData(
        vanity=bytes(range(1, 33)),
        validators=[b"\x00" * 19 + b"\x01", b"\x00" * 19 + b"\x02"],
        vote=Vote(b"\x00" * 19 + b"\x01", True),
        round=0xFEDCBA,
        seals=[_seal(1, 10, 0), _seal(10, 1, 0)],
    )
    assert x.encode() == BESU_CODEC


def test_genesis_two_validators() -> None:
    x = QbftExtraData.decode(GENESIS_2)
    assert x.vanity == b"\x00" * 32
    assert [v.hex() for v in x.validators] == [
        "be068f726a13c8d46c44be6ce9d275600e1735a4",
        "5ff6f4b66a46a2b2310a6f3a93aaddc0d9a1c193",
    ]
    assert x.vote is None and x.round == 0 and x.seals == []
    assert x.encode() == GENESIS_2


def test_besu_docs_four_validators() -> None:
    x = QbftExtraData.decode(BESU_DOCS_4)
    assert len(x.validators) == 4
    assert x.validators[0].hex() == "4592c8e45706cc08b8f44b11e43cba0cfc5892cb"
    assert x.encode() == BESU_DOCS_4


def test_drop_vote_encodings() -> None:
    addr = b"\x11" * 20
    x = QbftExtraData(vote=Vote(addr, False))
    assert rlp.decode(x.encode())[2] == [addr, b""]  # 0x80
    assert QbftExtraData.decode(x.encode()).vote == Vote(addr, False)
    besu_style = rlp.encode([b"\x00" * 32, [], [addr, b"\x00"], b"", []])
    assert QbftExtraData.decode(besu_style).vote == Vote(addr, False)


def test_hashing_variants() -> None:
    x = QbftExtraData.decode(BESU_CODEC)
    onchain = rlp.decode(x.encode_for_onchain_hash())
    assert onchain[3] == b"" and onchain[4] == []
    seal = rlp.decode(x.encode_for_commit_seal())
    assert seal[3] == bytes.fromhex("fedcba") and seal[4] == []


def _items(**over: object) -> bytes:
    base = {"vanity": b"\x00" * 32, "validators": [b"\x01" * 20], "vote": [], "round": b"", "seals": []}
    base.update(over)
    return rlp.encode([base["vanity"], base["validators"], base["vote"], base["round"], base["seals"]])


@pytest.mark.parametrize(
    ("raw", "exc"),
    [
        (b"", ExtraDataRlpError),
        (b"\x00" * 32, ExtraDataRlpError),  # legacy clique-style vanity only
        (GENESIS_2 + b"\x00", ExtraDataRlpError),  # trailing byte
        (rlp.encode([b"\x00" * 32, [], [], b""]), ExtraDataRlpError),  # 4 items
        (_items(vanity=b"\x00" * 31), InvalidVanityError),
        (_items(validators=[b"\x01" * 19]), InvalidValidatorError),
        (_items(validators=[[b"\x01" * 20]]), InvalidValidatorError),
        (_items(vote=[b"\x01" * 20, b"\x01"]), InvalidVoteError),
        (_items(vote=[b"\x01" * 19, b"\xff"]), InvalidVoteError),
        (_items(vote=[b"\x01" * 20]), InvalidVoteError),
        (_items(round=b"\x00"), InvalidRoundError),
        (_items(round=b"\x00\x01"), InvalidRoundError),
        (_items(round=b"\x01" * 9), InvalidRoundError),
        (_items(round=[]), InvalidRoundError),
        (_items(seals=[b"\x00" * 64]), InvalidSealError),
        (_items(seals=[_seal(1, 1, 27)]), InvalidSealError),
        (_items(seals=[_seal(1, 1, 2)]), InvalidSealError),
    ],
)
def test_malformed_rejected(raw: bytes, exc: type[ExtraDataError]) -> None:
    with pytest.raises(exc):
        QbftExtraData.decode(raw)
    assert issubclass(exc, ValueError)


def test_ibft2_extradata_is_not_qbft() -> None:
    """Besu's IBFT 2.0 example (vote as empty string, 4-byte round) must not pass as QBFT."""
    ibft2 = bytes.fromhex(
        "f853a00000000000000000000000000000000000000000000000000000000000000000ea94be068f726a13c8d46c44be6ce9d2"
        "75600e1735a4945ff6f4b66a46a2b2310a6f3a93aaddc0d9a1c193808400000000c0"
    )
    with pytest.raises(InvalidVoteError):
        QbftExtraData.decode(ibft2)


def test_constructor_validates() -> None:
    with pytest.raises(InvalidVanityError):
        QbftExtraData(vanity=b"")
    with pytest.raises(InvalidRoundError):
        QbftExtraData(round=-1)
    with pytest.raises(InvalidVoteError):
        Vote(b"\x01", True)
