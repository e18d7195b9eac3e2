"""Pure bytecode comparison in the manner of Sourcify: immutables masked, CBOR metadata decoded.

* **full match**: after writing the on-chain values of the immutables (positions from the compiler's
  ``immutableReferences``) into the compiled runtime code, the two are byte-identical, including the CBOR
  metadata whose IPFS hash commits to every source file and compiler setting;
* **partial match**: only the metadata differs (same executable code, different sources/settings metadata);
* **mismatch**: the executable code differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FULL = "full"
PARTIAL = "partial"
MISMATCH = "mismatch"


class CborError(ValueError):
    """The trailing metadata is not the small CBOR map solc appends."""


def _cbor_item(data: bytes, pos: int) -> tuple[Any, int]:
    if pos >= len(data):
        raise CborError("truncated CBOR")
    initial = data[pos]
    major, info = initial >> 5, initial & 31
    pos += 1
    if info < 24:
        arg = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        if pos + size > len(data):
            raise CborError("truncated CBOR length")
        arg = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    else:
        raise CborError(f"unsupported CBOR additional info {info}")
    if major == 0:
        return arg, pos
    if major in (2, 3):
        if pos + arg > len(data):
            raise CborError("truncated CBOR string")
        raw = data[pos : pos + arg]
        return (raw if major == 2 else raw.decode("utf-8")), pos + arg
    if major == 5:
        out = {}
        for _ in range(arg):
            key, pos = _cbor_item(data, pos)
            value, pos = _cbor_item(data, pos)
            out[key] = value
        return out, pos
    if major == 7 and info in (20, 21):
        return info == 21, pos
    raise CborError(f"unsupported CBOR major type {major}")


def split_metadata(code: bytes) -> tuple[bytes, bytes, dict[str, Any] | None]:
    """``(executable, metadata_bytes, decoded)``; ``decoded`` is None when there is no valid solc trailer."""
    if len(code) < 2:
        return code, b"", None
    length = int.from_bytes(code[-2:], "big")
    if length + 2 > len(code) or length == 0:
        return code, b"", None
    cbor = code[-2 - length : -2]
    try:
        decoded, end = _cbor_item(cbor, 0)
    except (CborError, UnicodeDecodeError):
        return code, b"", None
    if end != len(cbor) or not isinstance(decoded, dict):
        return code, b"", None
    return code[: -2 - length], code[-2 - length :], decoded


def describe_metadata(decoded: dict[str, Any] | None) -> dict[str, Any]:
    """Readable metadata fields: IPFS multihash (hex and base58), solc version."""
    if not decoded:
        return {}
    out: dict[str, Any] = {}
    for key, value in decoded.items():
        if key == "solc" and isinstance(value, bytes) and len(value) == 3:
            out["solc"] = ".".join(str(b) for b in value)
        elif key == "ipfs" and isinstance(value, bytes):
            out["ipfs"] = _base58(value)
        elif isinstance(value, bytes):
            out[key] = "0x" + value.hex()
        else:
            out[key] = value
    return out


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58(raw: bytes) -> str:
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + out


@dataclass
class Comparison:
    status: str
    immutables: dict[str, str] = field(default_factory=dict)  # astId -> 0x value (32 bytes)
    onchain_metadata: dict[str, Any] = field(default_factory=dict)
    compiled_metadata: dict[str, Any] = field(default_factory=dict)
    detail: str = ""


def compare_runtime(onchain: bytes, compiled: bytes, immutable_refs: dict[str, list[dict[str, int]]]) -> Comparison:
    """Compare deployed runtime code with the compiler's ``deployedBytecode``."""
    patched = bytearray(compiled)
    values: dict[str, str] = {}
    if len(onchain) == len(compiled):
        for ast_id, refs in sorted(immutable_refs.items(), key=lambda kv: int(kv[0])):
            seen: bytes | None = None
            for ref in refs:
                start, length = int(ref["start"]), int(ref["length"])
                value = onchain[start : start + length]
                if seen is not None and value != seen:
                    return Comparison(MISMATCH, detail=f"immutable {ast_id} has different values at its references")
                seen = value
                patched[start : start + length] = value
            if seen is not None:
                values[ast_id] = "0x" + seen.hex()
    patched_b = bytes(patched)
    on_exec, _, on_meta = split_metadata(onchain)
    co_exec, _, co_meta = split_metadata(patched_b)
    result = Comparison(MISMATCH, values, describe_metadata(on_meta), describe_metadata(co_meta))
    if patched_b == onchain:
        result.status = FULL
    elif on_meta is not None and co_meta is not None and on_exec == co_exec:
        result.status = PARTIAL
        result.detail = "executable code matches but the CBOR metadata differs (sources or settings differ)"
    else:
        result.detail = (f"runtime code differs (on-chain {len(onchain)} bytes, compiled {len(compiled)} bytes)"
                         + (f", first difference at byte {_first_diff(onchain, patched_b)}" if onchain and compiled else ""))
    return result


def _first_diff(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))
