"""Unit tests for identities, frame encryption, message codec and the seen-cache (no sockets)."""

from __future__ import annotations

import asyncio

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.p2p import Enode, NodeKey, P2PError, ProtocolError
from co3chain.p2p.backoff import Backoff
from co3chain.p2p.errors import FrameError
from co3chain.p2p.frames import LENGTH_PREFIX, TAG_LEN, FrameOpener, FrameSealer
from co3chain.p2p.identity import keccak256, pubkey_to_address, recover_pubkey
from co3chain.p2p.messages import (
    Blocks,
    GetBlocks,
    Hello,
    MsgType,
    Status,
    decode_frame,
    decode_message,
    encode_message,
    split_frame,
)
from co3chain.p2p.packing import chunk_txs, fit_blocks
from co3chain.p2p.seen import SeenCache

KEY1 = (1).to_bytes(32, "big")


def test_key_one_has_the_well_known_address() -> None:
    key = NodeKey(KEY1)
    assert key.address.hex() == "7e5f4552091a69125d5dfcb7b8c2659029395bdf"
    assert pubkey_to_address(key.public_key) == key.address
    assert len(key.public_key) == 64


def test_signature_recovers_the_signer() -> None:
    key = NodeKey()
    digest = keccak256(b"hello")
    assert recover_pubkey(key.sign(digest), digest) == key.public_key
    assert recover_pubkey(key.sign(digest), keccak256(b"other")) != key.public_key


def test_ecdh_is_symmetric() -> None:
    a, b = NodeKey(), NodeKey()
    assert a.ecdh(b.public_key) == b.ecdh(a.public_key)


def test_invalid_private_keys_rejected() -> None:
    with pytest.raises(P2PError):
        NodeKey(b"\x00" * 32)
    with pytest.raises(P2PError):
        NodeKey(b"\x01" * 31)


def test_enode_round_trip_and_prefixes() -> None:
    key = NodeKey(KEY1)
    enode = Enode(key.public_key, "127.0.0.1", 30303)
    assert Enode.parse(str(enode)) == enode
    assert Enode.parse("enode://" + str(enode)) == enode
    assert Enode.parse("0x" + str(enode)) == enode
    v6 = Enode.parse(f"{key.public_key.hex()}@[::1]:1")
    assert (v6.host, v6.port) == ("::1", 1)
    assert str(v6).endswith("@[::1]:1")
    assert enode.address == key.address


@pytest.mark.parametrize(
    "text",
    [
        "nonsense",
        "ab@127.0.0.1:1",
        "zz" * 64 + "@127.0.0.1:1",
        "00" * 64 + "@127.0.0.1:1",  # not on the curve
        "{pub}@127.0.0.1",
        "{pub}@127.0.0.1:0",
        "{pub}@127.0.0.1:70000",
        "{pub}@:5",
    ],
)
def test_enode_parse_rejects(text: str) -> None:
    with pytest.raises(P2PError):
        Enode.parse(text.format(pub=NodeKey(KEY1).public_key.hex()))


async def _feed(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_frames_round_trip_in_order() -> None:
    async def scenario() -> None:
        key = bytes(range(32))
        sealer, opener = FrameSealer(key), FrameOpener(key, 1024)
        frames = [sealer.seal(m) for m in (b"a", b"bb" * 100, b"ccc")]
        assert frames[0] != sealer.seal(b"a")  # counter nonce: same plaintext, new ciphertext
        reader = await _feed(b"".join(frames))
        assert [await opener.read(reader) for _ in range(3)] == [b"a", b"bb" * 100, b"ccc"]

    asyncio.run(scenario())


def test_frames_reject_tampering_replay_reorder_and_wrong_key() -> None:
    key = bytes(range(32))
    sealer = FrameSealer(key)
    f0, f1 = sealer.seal(b"first"), sealer.seal(b"second")

    def open_frame(opener: FrameOpener, frame: bytes) -> bytes:
        return opener.open(frame[:LENGTH_PREFIX], frame[LENGTH_PREFIX:])

    tampered = bytearray(f0)
    tampered[LENGTH_PREFIX + 2] ^= 0x01
    with pytest.raises(FrameError):
        open_frame(FrameOpener(key, 1024), bytes(tampered))
    with pytest.raises(FrameError):  # reordered
        open_frame(FrameOpener(key, 1024), f1)
    opener = FrameOpener(key, 1024)
    assert open_frame(opener, f0) == b"first"
    with pytest.raises(FrameError):  # replayed
        open_frame(opener, f0)
    with pytest.raises(FrameError):
        open_frame(FrameOpener(bytes(32), 1024), f0)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.lists(st.binary(max_size=3000), min_size=1, max_size=5),
       st.integers(0, 2**40))
def test_frames_are_standard_aes_gcm_as_pycryptodome_makes_them(key: bytes, plaintexts: list[bytes],
                                                                 start: int) -> None:
    """The wire bytes of a frame are those of an independent AES-GCM implementation (pycryptodome, the
    cipher the frames used before): header as associated data, counter nonce, 16-byte tag."""
    from Crypto.Cipher import AES

    sealer, opener = FrameSealer(key), FrameOpener(key, 4096)
    sealer._counter = opener._counter = start
    for i, plaintext in enumerate(plaintexts):
        frame = sealer.seal(plaintext)
        header = (len(plaintext) + TAG_LEN).to_bytes(LENGTH_PREFIX, "big")
        cipher = AES.new(key, AES.MODE_GCM, nonce=bytes(4) + (start + i).to_bytes(8, "big"), mac_len=TAG_LEN)
        cipher.update(header)
        ciphertext, tag = cipher.encrypt_and_digest(plaintext)
        assert frame == header + ciphertext + tag
        assert opener.open(frame[:LENGTH_PREFIX], frame[LENGTH_PREFIX:]) == plaintext


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_keccak256_is_ethereums_keccak(data: bytes) -> None:
    from Crypto.Hash import keccak
    from eth_hash.auto import keccak as eth_keccak

    assert keccak256(data) == keccak.new(digest_bits=256, data=data).digest() == eth_keccak(data)


def test_a_frame_body_shorter_than_its_tag_is_refused() -> None:
    with pytest.raises(FrameError):
        FrameOpener(bytes(32), 100).open(b"\x00\x00\x00\x05", b"\x01" * 5)


def test_frame_length_checks() -> None:
    opener = FrameOpener(bytes(32), 100)
    assert opener.check_length((100 + TAG_LEN).to_bytes(4, "big")) == 100 + TAG_LEN
    with pytest.raises(FrameError):
        opener.check_length((101 + TAG_LEN).to_bytes(4, "big"))
    with pytest.raises(FrameError):
        opener.check_length(TAG_LEN.to_bytes(4, "big"))


STATUS = Status(7, b"\x01" * 32, 42, b"\x02" * 32)


@pytest.mark.parametrize(
    ("msg_type", "payload"),
    [
        (MsgType.HELLO, Hello(1, "co3chain/test", 2**24, STATUS)),
        (MsgType.STATUS, STATUS),
        (MsgType.DISCONNECT, 3),
        (MsgType.PING, 0),
        (MsgType.PONG, 2**63),
        (MsgType.TX, [b"\x02\xf8tx1", b"tx2"]),
        (MsgType.CONSENSUS, b"\xf8\x67qbft"),
        (MsgType.GET_BLOCKS, GetBlocks(5, 0, 128)),
        (MsgType.BLOCKS, Blocks(5, [b"b0", b"b1" * 40])),
        (MsgType.BLOCKS, Blocks(6, [])),
    ],
)
def test_message_round_trip(msg_type: MsgType, payload: object) -> None:
    assert decode_message(encode_message(msg_type, payload)) == (msg_type, payload)


@pytest.mark.parametrize(
    "plaintext",
    [
        b"",
        b"\x7f" + rlp.encode([]),  # unknown type
        bytes([MsgType.TX]) + b"\xff\xff",  # undecodable RLP
        bytes([MsgType.TX]) + rlp.encode([]),  # empty batch
        bytes([MsgType.TX]) + rlp.encode([b"a", [b"b"]]),  # nested list instead of a tx
        bytes([MsgType.TX]) + rlp.encode([b"a"]) + b"\x00",  # trailing bytes
        bytes([MsgType.CONSENSUS]) + rlp.encode([b"x"]),  # list instead of bytes
        bytes([MsgType.PING]) + rlp.encode([b"\x00\x01"]),  # non-canonical integer
        bytes([MsgType.STATUS]) + rlp.encode([7, b"\x01" * 31, 1, b"\x02" * 32]),  # short hash
        bytes([MsgType.GET_BLOCKS]) + rlp.encode([1, 2]),  # missing field
        bytes([MsgType.HELLO]) + rlp.encode([1, b"\xff\xfe", 1024, STATUS.to_rlp()]),  # bad UTF-8
    ],
)
def test_decode_rejects_invalid_messages(plaintext: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_message(plaintext)


def test_encode_rejects_invalid_payloads() -> None:
    with pytest.raises(ValueError):
        encode_message(MsgType.TX, [])
    with pytest.raises(ValueError):
        encode_message(MsgType.CONSENSUS, b"")


def test_seen_cache_is_bounded_lru() -> None:
    cache = SeenCache(3)
    assert cache.add(b"a") and cache.add(b"b") and cache.add(b"c")
    assert not cache.add(b"a")  # touch: a becomes most recent
    assert cache.add(b"d")  # evicts b
    assert b"b" not in cache and b"a" in cache and len(cache) == 3


def test_tx_chunks_respect_frame_limit_and_skip_oversized() -> None:
    txs = [(keccak256(bytes([i])), bytes([i]) * 300) for i in range(10)]
    txs.append((b"big", b"x" * 5000))
    chunks = list(chunk_txs(txs, 1024))
    assert [raw for chunk in chunks for _, raw in chunk] == [raw for _, raw in txs[:10]]
    for chunk in chunks:
        assert len(encode_message(MsgType.TX, [raw for _, raw in chunk])) <= 1024


def test_fit_blocks_returns_prefix_that_fits() -> None:
    blocks = [b"x" * 400] * 5
    fitted = fit_blocks(blocks, 1024)
    assert fitted == blocks[:2]
    assert len(encode_message(MsgType.BLOCKS, Blocks(2**63, fitted))) <= 1024
    assert fit_blocks([b"x" * 2000], 1024) == []


def test_frames_carry_several_packed_messages() -> None:
    parts = [
        encode_message(MsgType.PING, 1),
        encode_message(MsgType.CONSENSUS, b"x" * 70),  # long-string header
        encode_message(MsgType.TX, [b"y" * 60] * 3),  # long-list header
        encode_message(MsgType.CONSENSUS, b"\x05"),  # single-byte item
    ]
    assert split_frame(b"".join(parts)) == parts
    decoded = decode_frame(b"".join(parts))
    assert [t for t, _ in decoded] == [MsgType.PING, MsgType.CONSENSUS, MsgType.TX, MsgType.CONSENSUS]
    assert decoded[1][1] == b"x" * 70 and decoded[3][1] == b"\x05"


@pytest.mark.parametrize(
    "plaintext",
    [
        b"",
        b"\x03",  # code without payload
        encode_message(MsgType.PING, 1)[:-1],  # truncated
        encode_message(MsgType.PING, 1) + b"\x03\xc5\x01",  # second message truncated
        encode_message(MsgType.PING, 1) + b"\x7f\xc0",  # second message of unknown type
        bytes([MsgType.CONSENSUS]) + b"\xbf" + b"\xff" * 8 + b"x",  # absurd length
        bytes([MsgType.CONSENSUS]) + b"\xb8\x00",  # non-canonical long-form length
    ],
)
def test_decode_frame_rejects_bad_packing(plaintext: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_frame(plaintext)


def test_backoff_doubles_up_to_cap_and_resets() -> None:
    backoff = Backoff(0.5, 4.0)
    delays = [backoff.next() for _ in range(8)]
    for delay, nominal in zip(delays, [0.5, 1, 2, 4, 4, 4, 4, 4], strict=True):
        assert 0.8 * nominal <= delay <= min(1.2 * nominal, 4.0)
    backoff.reset()
    assert backoff.next() <= 0.6
