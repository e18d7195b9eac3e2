"""Route every ``eth_hash.auto.keccak`` call (py-evm, trie, eth_utils, ours) to the C ``safe-pysha3``.

Why: the node hashes ~30 times per transaction (tx hash, trie keys and nodes, addresses); ``eth_hash``
picks pycryptodome first, which costs ~11 µs per call here against ~1.3 µs for pysha3's
``keccak_256``. The result is the same function (checked on the empty string before switching); when
``safe-pysha3`` is missing nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable

_EMPTY_KECCAK = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")


def install() -> bool:
    """Switch the shared ``eth_hash.auto.keccak`` to pysha3; returns whether it did."""
    try:
        from eth_hash.auto import keccak
        from eth_hash.backends.pysha3 import PySha3Backend
    except ImportError:
        return False
    backend = PySha3Backend()
    if backend.keccak256(b"") != _EMPTY_KECCAK or backend.keccak256(b"abc") != keccak(b"abc"):
        return False
    keccak._backend = backend
    keccak.hasher = backend.keccak256
    keccak.preimage = backend.preimage
    return True


INSTALLED = install()


def direct_keccak() -> Callable[[bytes], bytes]:
    """pysha3's C ``keccak_256`` called directly, or ``eth_hash``'s ``keccak`` when it is missing or differs.

    Why: ``eth_hash`` adds two Python calls around the same C function per hash; for the hottest loops
    (trie node hashes at a block's commit) that is most of the cost. Checked against ``keccak`` on a few
    inputs before use, as :func:`install` checks the backend it installs.
    """
    from eth_hash.auto import keccak

    try:
        from sha3 import keccak_256
    except ImportError:  # pragma: no cover - safe-pysha3 is a dependency
        return keccak
    for probe in (b"", b"abc", bytes(range(200))):
        if keccak_256(probe).digest() != keccak(probe):  # pragma: no cover
            return keccak
    return lambda data: keccak_256(data).digest()
