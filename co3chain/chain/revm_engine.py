"""revm (Rust EVM, via ``pyrevm`` 0.3.7) as the node's execution engine.

How a transaction runs (and why this shape):

* **A fresh pyrevm ``EVM`` per transaction.** pyrevm never finalizes its journal between calls, so a
  long-lived instance keeps every account and slot *warm* and every slot's "original value" from the
  first load: the second identical ``SSTORE`` call costs 21,212 gas instead of 26,012 (EIP-2929/2200
  broken, see ``tests/chain/test_revm_engine.py``). A fresh instance costs ~20 µs.
* **State is loaded on demand and execution repeated until it saw everything.** pyrevm has only an
  in-memory database (no read callback), so the sender, recipient and coinbase are pre-loaded from the
  py-evm state; after execution the journal lists every account and slot the code touched. If one of
  them exists in the real state but was not loaded, it is loaded and the transaction re-executed from
  scratch (at most a few rounds; an ERC-20 transfer takes two). Storage is inserted under a
  snapshot/revert pair, which keeps the value in pyrevm's database but leaves the account *cold*.
* **What it read and changed is read from pyrevm's debug dumps.** In general ``str(evm)`` (the database
  also lists reads made by call frames that reverted). When the called code cannot open a call frame
  (no reachable CALL/CREATE-family opcode) and the call succeeded, nothing was reverted, so the journal's
  own, 3-4x shorter dump (``journal_str``) lists every read: an ERC-20 transfer takes that path.
* **The result is written back into the py-evm state** (balances, nonces, new code, changed slots,
  EIP-161 deletions), so the state trie, the state root and the atomic RocksDB write stay exactly the
  code the py-evm engine uses.
* **Known pyrevm gaps** are routed to py-evm for that one transaction (same state object, so mixing is
  exact): ``BLOCKHASH`` (pyrevm returns ``keccak(str(n))`` and has no setter) in any code the
  transaction loaded or in its init code, and a call to code with a non-zero gas price (pyrevm's
  ``message_call`` neither buys gas nor bumps the nonce, so the sender's in-execution balance would
  differ). ``message_call``'s missing nonce bump and fee handling are done here with py-evm's own state
  calls, mirroring its transaction executor.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from typing import Any

from eth.vm.forks.frontier.transactions import FrontierTransaction
from eth_hash.auto import keccak
from pyrevm import EVM, AccountInfo, BlockEnv, CfgEnv, Env, TxEnv

from co3chain.chain.engine import CallOutcome, PyEvmEngine, check_initcode_size
from co3chain.chain.fastreceipt import RawLog, bloom_of, legacy_receipt
from co3chain.chain.statedb import BatchedAccountDB
from co3chain.chain.txrules import HALF_N, passes_validate

log = logging.getLogger("co3chain.chain.revm")

EMPTY_CODE_HASH = keccak(b"")
_UINT256_LIMIT = 1 << 256
_ZERO_HASH = bytes(32)
SPEC_ID = "CANCUN"
#: Re-execution rounds before giving up on revm for a transaction (then py-evm runs it).
MAX_ROUNDS = 16
BLOCKHASH_OPCODE = 0x40
#: BLOCKHASH (pyrevm's database has no block hashes), GASPRICE (contract calls run at gas price 0, gas is
#: bought outside revm) and BASEFEE (pyrevm's calls report 0): code that can run them goes to py-evm.
_PYEVM_ONLY_OPCODES = frozenset({BLOCKHASH_OPCODE, 0x3A, 0x48})
JUMPDEST_OPCODE = 0x5B
_TERMINATORS = frozenset({0x00, 0x56, 0xF3, 0xFD, 0xFE, 0xFF})

#: pyrevm's database (``CacheDB``) caches every account and slot execution *read*, and is not journaled:
#: unlike the journal, it still lists reads made by frames that reverted (see :func:`_reads`).
_DB_SLOT_RE = re.compile(r"(\d+): \d+")
_SLOT_RE = re.compile(r"(\d+): StorageSlot \{ previous_or_original_value: (\d+), present_value: (\d+) \}")


#: Opcodes that open a new call frame: CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2, STATICCALL.
_FRAME_OPCODES = frozenset({0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA})
#: :meth:`RevmEngine._code_flags` bits
FLAG_PYEVM_ONLY = 1
FLAG_OPENS_FRAMES = 2


def reachable_opcodes(code: bytes) -> set[int]:
    """Every opcode the EVM can execute in ``code``.

    Linear scan that skips PUSH data and *unreachable* bytes: after a terminating instruction
    (STOP, JUMP, RETURN, REVERT, INVALID, SELFDESTRUCT) execution can only resume at a JUMPDEST, so
    Solidity's trailing metadata and data sections (which often contain any byte) do not count.
    Sound: an opcode the EVM can reach is always listed (a false positive only costs speed).
    """
    ops: set[int] = set()
    i, n, live = 0, len(code), True
    while i < n:
        op = code[i]
        if op == JUMPDEST_OPCODE:
            live = True
        if live:
            ops.add(op)
            if op in _TERMINATORS:
                live = False
        i += op - 0x5E if 0x60 <= op <= 0x7F else 1
    return ops


def code_flags(code: bytes) -> int:
    """:data:`FLAG_PYEVM_ONLY` if ``code`` can execute BLOCKHASH (or GASPRICE/BASEFEE, which revm here
    cannot answer as py-evm does either: see :data:`_PYEVM_ONLY_OPCODES`), :data:`FLAG_OPENS_FRAMES` if
    it can open a call frame (see :data:`_FRAME_OPCODES`)."""
    ops = reachable_opcodes(code)
    return (FLAG_PYEVM_ONLY if not ops.isdisjoint(_PYEVM_ONLY_OPCODES) else 0) | (
        FLAG_OPENS_FRAMES if not ops.isdisjoint(_FRAME_OPCODES) else 0
    )


def code_reads_blockhash(code: bytes) -> bool:
    """Whether ``code`` can execute BLOCKHASH (or GASPRICE/BASEFEE), see :func:`code_flags`."""
    return bool(code_flags(code) & FLAG_PYEVM_ONLY)


def _address_words(sender: bytes, data: bytes) -> list[bytes]:
    """The sender and every calldata word that looks like an address (12 zero bytes, then non-zero)."""
    out = [sender]
    for i in range(4, len(data) - 31, 32):
        word = data[i : i + 32]
        if word[:12] == bytes(12) and any(word[12:]):
            out.append(word[12:])
    return out[:8]


class _Touched:
    """One account as pyrevm's journal left it after a transaction.

    Parsed from the journal's debug string with ``str.find`` (a regex over the whole string, code hex
    included, cost ~3x more). The code itself is sliced out of the string only when asked for
    (:attr:`code`): most transactions only need the code hash.
    """

    __slots__ = (
        "address", "balance", "nonce", "code_hash", "_code_text", "_code_len", "_code", "storage", "status",
        "has_code", "touched", "created", "selfdestructed",
    )

    def __init__(
        self,
        address: bytes,
        balance: int,
        nonce: int,
        code_hash: bytes,
        code_text: str,
        code_len: int | None,
        storage: dict[int, tuple[int, int]],
        status: str,
    ) -> None:
        self.address = address
        self.balance = balance
        self.nonce = nonce
        self.code_hash = code_hash
        self._code_text = code_text
        self._code_len = code_len
        self._code: bytes | None = None
        self.storage = storage
        self.status = status
        # read several times per account and transaction: worked out once (the fields never change)
        self.has_code = code_hash != EMPTY_CODE_HASH and code_hash != _ZERO_HASH
        self.touched = "Touched" in status
        self.created = "Created" in status
        self.selfdestructed = "SelfDestructed" in status

    @property
    def code(self) -> bytes:
        if self._code is None:
            code = bytes.fromhex(self._code_text) if self._code_text else b""
            if self._code_len is not None:  # analysed/checked bytecode is zero-padded: keep the original
                code = code[: self._code_len]
            self._code = code if self.code_hash != EMPTY_CODE_HASH else b""
        return self._code


_ACCOUNT_MARK = ": Account { info: AccountInfo { balance: "
_CODE_SOME = "Some(Bytecode { bytecode: 0x"


def _parse_journal(text: str) -> list[_Touched]:
    """The accounts of a ``JournaledState`` debug string (only its ``state`` map is read)."""
    end = text.find("}, transient_storage: ")
    if end < 0:
        end = len(text)
    out: list[_Touched] = []
    pos = 0
    while True:
        i = text.find(_ACCOUNT_MARK, pos, end)
        if i < 0:
            return out
        address = bytes.fromhex(text[i - 40 : i])
        j = i + len(_ACCOUNT_MARK)
        k = text.index(", nonce: ", j)
        balance = int(text[j:k])
        j = k + 9
        k = text.index(", code_hash: 0x", j)
        nonce = int(text[j:k])
        code_hash = bytes.fromhex(text[k + 15 : k + 79])
        j = k + 79
        if not text.startswith(", code: ", j):
            raise ValueError("unexpected pyrevm journal format")
        j += 8
        storage_at = text.index(" }, storage: {", j)
        code_text, code_len = "", None
        if text.startswith(_CODE_SOME, j):
            c = j + len(_CODE_SOME)
            st = text.index(", state: ", c)
            code_text = text[c:st]
            state = text[st + 9 : storage_at]
            if not state.startswith("Raw"):
                m = _LEN_RE.match(state)
                if m is None:
                    raise ValueError("unexpected pyrevm bytecode state")
                code_len = int(m.group(1))
        elif not text.startswith("None", j):
            raise ValueError("unexpected pyrevm journal format")
        j = storage_at + 14
        k = text.index("}, status: AccountStatus(", j)
        body = text[j:k]
        storage = {int(a): (int(o), int(p)) for a, o, p in _SLOT_RE.findall(body)} if body else {}
        j = k + 25
        k = text.index(")", j)
        out.append(_Touched(address, balance, nonce, code_hash, code_text, code_len, storage, text[j:k]))
        pos = k


_LEN_RE = re.compile(r"(?:Checked|Analysed) \{ len: (\d+)")


class _CodeOf:
    """``.code`` holder for :meth:`RevmEngine._hash_reads_blockhash`."""

    __slots__ = ("code",)

    def __init__(self, code: bytes) -> None:
        self.code = code


def _reads(text: str) -> dict[bytes, set[int]]:
    """Every account (and its slots) the execution read from pyrevm's database, reverted frames included
    (``text`` is ``str(evm)``)."""
    start = text.find("CacheDB { accounts: {")
    end = text.find("}, contracts: {", start)
    out: dict[bytes, set[int]] = {}
    seg = text[start:end]
    pos = 0
    while True:
        i = seg.find(": DbAccount { info: ", pos)
        if i < 0:
            return out
        addr = bytes.fromhex(seg[i - 40 : i])
        j = seg.find(", storage: {", seg.find("account_state: ", i))
        k = seg.find("}", j + 12)
        body = seg[j + 12 : k]
        out[addr] = {int(x) for x in _DB_SLOT_RE.findall(body)} if body else set()
        pos = k


def _hex(addr: bytes) -> str:
    return "0x" + addr.hex()


def _direct_db(state: Any) -> BatchedAccountDB | None:
    """The state's account database when it is exactly :class:`BatchedAccountDB` (the chain's), else ``None``.

    Why: every ``state.get_balance`` / ``get_nonce`` / ``get_code_hash`` / ``get_storage`` goes through
    py-evm's ``BaseState`` wrapper and validates the address and slot again; revm's write-back and loads
    make ~15 such reads per transfer on addresses and slots that are canonical by construction. With
    this database the engine reads the decoded account once (:func:`_account_fields`) and the slot
    store directly -- the same journal, cache and trie layers answer, so the values are the same.
    """
    adb = state._account_db
    return adb if adb.__class__ is BatchedAccountDB else None


def _canonical(addr: Any) -> bool:
    return addr.__class__ is bytes and len(addr) == 20


def _account_fields(state: Any, adb: BatchedAccountDB | None, addr: bytes) -> tuple[int, int, bytes] | None:
    """``(balance, nonce, code hash)`` of ``addr``, or ``None`` if the account does not exist."""
    if adb is not None and _canonical(addr):
        if not adb.account_exists(addr):
            return None
        a = adb._get_account(addr)
        return a.balance, a.nonce, a.code_hash
    if not state.account_exists(addr):
        return None
    return state.get_balance(addr), state.get_nonce(addr), state.get_code_hash(addr)


def _balance_nonce(state: Any, adb: BatchedAccountDB | None, addr: bytes) -> tuple[int, int]:
    """``(state.get_balance(addr), state.get_nonce(addr))`` in one account read."""
    if adb is not None and _canonical(addr):
        a = adb._get_account(addr)
        return a.balance, a.nonce
    return state.get_balance(addr), state.get_nonce(addr)


def _write_storage(state: Any, adb: BatchedAccountDB | None, acct: _Touched) -> None:
    """``state.set_storage`` for every slot of ``acct`` whose value changed.

    With the chain's database the slot store is written directly: ``BatchedAccountDB.set_storage`` minus
    its checks, which revm's values (32-byte words) and the parsed 20-byte address always pass.
    """
    addr = acct.address
    changed = [(k, present) for k, (orig, present) in acct.storage.items() if orig != present]
    if not changed:
        return
    if adb is None or not _canonical(addr):
        for k, present in changed:
            state.set_storage(addr, k, present)
        return
    for k, present in changed:
        if not (0 <= k < _UINT256_LIMIT and 0 <= present < _UINT256_LIMIT):
            state.set_storage(addr, k, present)  # py-evm words the error
    store = adb._get_address_store(addr)
    adb._dirty_accounts.add(addr)
    for k, present in changed:
        store.set(k, present)


class _Run:
    """Outcome of one revm execution with everything it needed loaded."""

    __slots__ = ("result", "accounts", "output", "logs", "error", "absent")

    def __init__(
        self, result: Any, accounts: list[_Touched], output: bytes, error: str, absent: frozenset[bytes] = frozenset()
    ) -> None:
        self.result = result
        self.accounts = accounts
        self.output = output
        self.error = error
        #: addresses looked up in the state before execution and found not to exist
        self.absent = absent


class NeedsPyEvm(Exception):
    """This transaction must run on py-evm (reason in the message)."""


class RevmEngine:
    """revm for the EVM, py-evm's state for storage and roots (see the module docstring)."""

    name = "revm"

    def __init__(self) -> None:
        self.fallback = PyEvmEngine()
        #: counters: revm-executed txs, re-execution rounds, and py-evm fallbacks by reason
        self.stats: Counter[str] = Counter()
        #: :func:`code_flags` by code hash
        self._flags_by_code: dict[bytes, int] = {}
        self._code_by_hash: dict[bytes, bytes] = {}
        #: block environments by (number, timestamp, coinbase, gas limit, chain id, mix hash)
        self._envs: dict[tuple, Env] = {}
        #: the last ``(execution context, env)``: the context object is fixed for a state's lifetime
        self._last_env: tuple[Any, Env | None] = (None, None)
        self._layout_lock = threading.Lock()
        #: learned storage layout per contract: mapping base slots keyed by address, and fixed slots
        self._bases: dict[bytes, set[int]] = {}
        self._fixed: dict[bytes, set[int]] = {}
        #: ``mapping(address => ...)`` slot numbers by (address, base slot): the same accounts recur
        self._mapping_slots: dict[tuple[bytes, int], int] = {}

    # -- environment --------------------------------------------------------------------------------
    def _block_env(self, state: Any) -> Env:
        """The block environment of ``state`` (cached per block; the builder and RPC calls run in
        different threads, so the cache is a dict keyed by every field, and the last one is remembered only
        together with the context object it was made for)."""
        ctx = state.execution_context
        last = self._last_env  # one tuple read: another thread may replace it, never half of it
        if last[0] is ctx:  # a block's transactions share their state's context object
            return last[1]
        key = (ctx.block_number, ctx.timestamp, ctx.coinbase, ctx.gas_limit, ctx.chain_id, ctx.mix_hash)
        env = self._envs.get(key)
        if env is None:
            env = Env(
                cfg=CfgEnv(chain_id=ctx.chain_id, perf_analyse_created_bytecodes="Raw"),
                block=BlockEnv(
                    number=ctx.block_number,
                    coinbase=_hex(ctx.coinbase),
                    timestamp=ctx.timestamp,
                    difficulty=0,
                    prevrandao=bytes(ctx.mix_hash),
                    basefee=0,
                    gas_limit=ctx.gas_limit,
                    excess_blob_gas=0,
                ),
            )
            if len(self._envs) > 64:
                self._envs.clear()
            self._envs[key] = env
        self._last_env = (ctx, env)
        return env

    def _code(self, state: Any, addr: bytes) -> bytes:
        return self._code_and_hash(state, addr)[0]

    def _code_and_hash(self, state: Any, addr: bytes) -> tuple[bytes, bytes]:
        """``(code, code hash)`` of ``addr`` in ``state``, code objects shared by hash."""
        return self._code_for_hash(state, addr, state.get_code_hash(addr))

    def _code_for_hash(self, state: Any, addr: bytes, code_hash: bytes) -> tuple[bytes, bytes]:
        """:meth:`_code_and_hash` for a code hash already read from ``addr``'s account."""
        if code_hash == EMPTY_CODE_HASH:
            return b"", code_hash
        code = self._code_by_hash.get(code_hash)
        if code is None:
            code = state.get_code(addr)
            if len(self._code_by_hash) > 4096:
                self._code_by_hash.clear()
            self._code_by_hash[code_hash] = code
        return code, code_hash

    def _hash_reads_blockhash(self, code_hash: bytes, source: Any) -> bool:
        """:func:`code_reads_blockhash` cached by code hash; ``source.code`` is read only on a miss."""
        return bool(self._hash_code_flags(code_hash, source) & FLAG_PYEVM_ONLY)

    def _hash_code_flags(self, code_hash: bytes, source: Any) -> int:
        """:func:`code_flags` cached by code hash; ``source.code`` is read only on a miss."""
        hit = self._flags_by_code.get(code_hash)
        if hit is None:
            hit = self._code_flags(source.code)
        return hit

    def _reads_blockhash(self, code: bytes) -> bool:
        return bool(self._code_flags(code) & FLAG_PYEVM_ONLY)

    def _code_flags(self, code: bytes) -> int:
        if not code:
            return 0
        h = keccak(code)
        hit = self._flags_by_code.get(h)
        if hit is None:
            hit = code_flags(code)
            if len(self._flags_by_code) > 65_536:
                self._flags_by_code.clear()
            self._flags_by_code[h] = hit
        return hit

    # -- one execution with on-demand loading -------------------------------------------------------
    def _execute(
        self,
        state: Any,
        sender: bytes,
        to: bytes | None,
        value: int,
        data: bytes,
        gas: int,
        gas_price: int,
        access_list: Any,
        sender_info: tuple[int, int] | None = None,
    ) -> _Run:
        """Run the call or creation on a fresh pyrevm EVM with everything it reads loaded.

        ``sender_info`` is the sender's ``(balance, nonce)`` as revm must see it when it differs from the
        state (gas bought and nonce bumped, but not yet written: see :meth:`_apply_call`).
        """
        env = self._block_env(state)
        gas_limit = state.execution_context.gas_limit
        accounts: set[bytes] = {sender, state.execution_context.coinbase}
        if to:
            accounts.add(to)
        slots: dict[bytes, set[int]] = {}
        for addr, keys in access_list or ():
            accounts.add(bytes(addr))
            slots.setdefault(bytes(addr), set()).update(int(k) for k in keys)
        candidates = _address_words(sender, data)
        if to:
            predicted = self._predict_slots(to, candidates)
            if predicted:
                slots.setdefault(to, set()).update(predicted)
        tx_env = None
        if access_list:
            tx_env = TxEnv(
                chain_id=state.execution_context.chain_id,
                access_list=[(_hex(bytes(a)), [int(k) for k in ks]) for a, ks in access_list],
            )
        #: per loaded address: (info with code, the same without its code copy or None), None if absent
        infos: dict[bytes, tuple[AccountInfo, AccountInfo | None] | None] = {}
        values: dict[tuple[bytes, int], int] = {}

        adb = _direct_db(state)

        def slot_value(a: bytes, k: int) -> int:
            v = values.get((a, k))
            if v is None:
                if adb is not None and _canonical(a) and k.__class__ is int and 0 <= k < _UINT256_LIMIT:
                    v = adb._get_address_store(a).get(k)
                else:
                    v = state.get_storage(a, k)
                values[(a, k)] = v
            return v

        #: :func:`code_flags` of the loaded accounts that have code
        flags_by_addr: dict[bytes, int] = {}
        missed: list[tuple[bytes, int]] = []
        for _round in range(MAX_ROUNDS):
            self.stats["rounds"] += 1
            evm = EVM(env=env, gas_limit=gas_limit, spec_id=SPEC_ID)
            if tx_env is not None:
                evm.set_tx_env(tx_env)
            for addr in accounts:
                if addr not in infos:
                    info = None
                    if sender_info is not None and addr == sender:
                        code, code_hash = self._code_and_hash(state, addr)
                        if code:
                            flags = flags_by_addr[addr] = self._hash_code_flags(code_hash, _CodeOf(code))
                            if flags & FLAG_PYEVM_ONLY:
                                raise NeedsPyEvm("blockhash")
                        info = AccountInfo(balance=sender_info[0], nonce=sender_info[1], code=code or None,
                                           code_hash=code_hash if code else None)
                        slim = AccountInfo(balance=info.balance, nonce=info.nonce, code_hash=code_hash) if code else None
                        info = (info, slim)
                    elif (fields := _account_fields(state, adb, addr)) is not None:
                        code, code_hash = self._code_for_hash(state, addr, fields[2])
                        if code:
                            flags = flags_by_addr[addr] = self._hash_code_flags(code_hash, _CodeOf(code))
                            if flags & FLAG_PYEVM_ONLY:
                                raise NeedsPyEvm("blockhash")
                        # the state's code hash (keccak of this very code): pyrevm would hash the code again
                        info = AccountInfo(
                            balance=fields[0], nonce=fields[1], code=code or None,
                            code_hash=code_hash if code else None,
                        )
                        # the database keeps code by hash: an account entry without its own copy makes
                        # every ``str(evm)`` below (one per round) one code dump shorter -- not worth a
                        # second insert for called code whose result is read from the journal dump
                        slim = None
                        if code and (addr != to or flags & FLAG_OPENS_FRAMES):
                            slim = AccountInfo(balance=info.balance, nonce=info.nonce, code_hash=code_hash)
                        info = (info, slim)
                    infos[addr] = info
                entry = infos[addr]
                if entry is not None:
                    evm.insert_account_info(_hex(addr), entry[0])
                    if entry[1] is not None:
                        evm.insert_account_info(_hex(addr), entry[1])
            for addr, keys in slots.items():
                ha = _hex(addr)
                for k in keys:
                    v = slot_value(addr, k)
                    if v:
                        cp = evm.snapshot()  # keep the value in the database, the account cold
                        evm.insert_account_storage(ha, k, v)
                        evm.revert(cp)
            output, error = b"", ""
            try:
                if to:
                    output = evm.message_call(
                        _hex(sender), _hex(to), data, value=value, gas=gas, gas_price=gas_price
                    )
                else:
                    evm.deploy(_hex(sender), data, value=value, gas=gas, gas_price=gas_price)
            except RuntimeError as exc:
                error = str(exc)
            result = evm.result
            missing = False
            touched: list[_Touched] | None = None
            reads: dict[bytes, Any]
            if (
                to is not None
                and not flags_by_addr.get(to, 0) & FLAG_OPENS_FRAMES
                and result is not None
                and result.is_success
            ):
                # One call frame (the code cannot open another) that did not revert: every account and
                # slot it read is still in the journal's state (revm warms them there), so the much
                # shorter journal dump replaces the whole-EVM dump.
                self.stats["journal-only"] += 1
                touched = _parse_journal(evm.journal_str)
                if not touched:  # the sender is always in it: an empty parse means the format changed
                    raise NeedsPyEvm("unreadable pyrevm journal dump")
                reads = {a.address: a.storage for a in touched}
                text = ""
            else:
                text = str(evm)  # one dump per round: the database reads and (last round) the journal
                reads = _reads(text)
            if not reads:  # the sender is always read: an empty parse means pyrevm's format changed
                raise NeedsPyEvm("unreadable pyrevm database dump")
            for a, keys in reads.items():
                if a not in accounts and state.account_exists(a):
                    accounts.add(a)
                    missing = True
                known = slots.get(a, ())
                for k in keys:
                    if k not in known and slot_value(a, k):
                        slots.setdefault(a, set()).add(k)
                        missed.append((a, k))
                        missing = True
            if missing:
                continue
            if result is None:
                raise NeedsPyEvm(f"revm refused the transaction: {error[:120]}")
            if touched is None:
                at = text.find("journaled_state: JournaledState { state: {")
                touched = _parse_journal(text[at:]) if at >= 0 else []
            if not touched:  # same guard for the journal dump (the sender is always in it)
                raise NeedsPyEvm("unreadable pyrevm journal dump")
            for acct in touched:
                # a contract whose nonce rose ran CREATE/CREATE2: its init code may come from calldata or
                # storage, where the BLOCKHASH scan cannot see it -- let py-evm run such transactions
                if acct.has_code and acct.address != sender:
                    before = infos.get(acct.address)
                    base = 1 if acct.created else (before[0].nonce if before is not None else 0)
                    if acct.nonce > base:
                        raise NeedsPyEvm("contract creation from contract code")
            for acct in touched:
                if acct.has_code and self._hash_reads_blockhash(acct.code_hash, acct):
                    raise NeedsPyEvm("blockhash")
            if missed:
                self._learn(missed, candidates)
            absent = frozenset(a for a, entry in infos.items() if entry is None)
            return _Run(result, touched, bytes(output), error, absent)
        raise NeedsPyEvm("too many re-execution rounds")

    # -- storage prediction -----------------------------------------------------------------------
    # Why: without a read callback every slot the code needs but we did not load costs one more
    # execution round. Most contract storage is a small fixed slot or ``mapping[address]`` at
    # ``keccak(pad(address) ++ pad(base))`` for an address the transaction names (sender or an argument).
    # Learning those bases per contract makes an ERC-20 transfer converge in one round. A wrong guess
    # only loads a slot that is not read, which changes nothing (loaded slots stay cold).
    def _learn(self, missed: list[tuple[bytes, int]], candidates: list[bytes]) -> None:
        with self._layout_lock:
            self._learn_locked(missed, candidates)

    def _learn_locked(self, missed: list[tuple[bytes, int]], candidates: list[bytes]) -> None:
        if len(self._bases) + len(self._fixed) > 10_000:
            self._bases.clear()
            self._fixed.clear()
        for a, k in missed:
            if k < 1 << 32:
                self._fixed.setdefault(a, set()).add(k)
                continue
            for cand in candidates:
                word = cand.rjust(32, b"\0")
                for base in range(16):
                    if int.from_bytes(keccak(word + base.to_bytes(32, "big")), "big") == k:
                        self._bases.setdefault(a, set()).add(base)
                        break

    def _predict_slots(self, contract: bytes, candidates: list[bytes]) -> set[int]:
        with self._layout_lock:
            out = set(self._fixed.get(contract, ()))
            bases = list(self._bases.get(contract, ()))
        cache = self._mapping_slots
        for base in bases:
            for cand in candidates:
                slot = cache.get((cand, base))
                if slot is None:
                    slot = int.from_bytes(keccak(cand.rjust(32, b"\0") + base.to_bytes(32, "big")), "big")
                    if len(cache) > 100_000:
                        cache.clear()
                    cache[(cand, base)] = slot
                out.add(slot)
        return out

    # -- block transactions -------------------------------------------------------------------------
    def apply_transaction(self, vm: Any, header: Any, tx: Any) -> Any:
        state = vm.state
        check_initcode_size(tx)
        price = state.get_gas_price(tx)
        if not passes_pyevm_validation(state, header, tx, price):
            # py-evm's own checks: they raise the error (or pass, when the shortcut only declined)
            vm.validate_transaction_against_header(header, tx)
            state.get_transaction_executor().validate_transaction(tx)
        sender = tx.sender
        to = tx.to or None
        try:
            if to is not None:
                # No ``lock_changes`` here: it only flattens the storage journals (what py-evm's SSTORE
                # gas reads as "original" values) and resets py-evm's warm sets, neither of which a
                # revm-executed call reads; every py-evm transaction (``vm.apply_transaction``), state
                # root and persist locks first, so they see the same flattened state as before.
                receipt = self._apply_call(state, header, tx, sender, to, price)
            else:
                if self._reads_blockhash(bytes(tx.data)):
                    raise NeedsPyEvm("blockhash")
                state.lock_changes()  # the snapshot below may be discarded: py-evm's usual order
                snapshot = state.snapshot()
                try:
                    receipt = self._apply(state, header, tx, sender, to, price)
                except NeedsPyEvm:
                    state.revert(snapshot)
                    raise
                state.commit(snapshot)
        except NeedsPyEvm as why:
            self.stats[f"py-evm:{str(why).split(':')[0]}"] += 1
            log.debug("tx 0x%s runs on py-evm: %s", tx.hash.hex(), why)
            receipt, _ = vm.apply_transaction(header, tx)
            return receipt
        self.stats["revm"] += 1
        return receipt

    def _apply_call(self, state: Any, header: Any, tx: Any, sender: bytes, to: bytes, price: int) -> Any:
        """A message-call transaction, each touched account written once.

        What py-evm's executor does in steps (buy gas, bump the nonce, execute, refund the unused gas, pay
        the coinbase) is folded here into one final ``(balance, nonce)`` per account. Nothing is written
        before revm has run, so a transaction handed to py-evm (:class:`NeedsPyEvm`) needs no snapshot
        and revert. Balance changes only add up, so the end state is the one the stepwise sequence leaves
        (the engine differential tests and ``cross_check`` compare it with py-evm's executor); the rare
        transaction that self-destructs an account keeps the stepwise order (see :meth:`_apply`).
        """
        coinbase = state.execution_context.coinbase
        adb = _direct_db(state)
        bought = tx.gas * price
        sender_balance, sender_nonce = _balance_nonce(state, adb, sender)
        sender_balance -= bought
        sender_nonce += 1
        run = self._execute(
            state,
            sender,
            to,
            tx.value,
            bytes(tx.data),
            tx.gas,
            0,
            getattr(tx, "access_list", None),
            (sender_balance, sender_nonce),
        )
        if any(a.selfdestructed for a in run.accounts):
            if bought:
                state.delta_balance(sender, -bought)
            state.increment_nonce(sender)
            return self._finish_call(state, header, tx, sender, price, run)
        result = run.result
        gas_used = result.gas_used
        final: dict[bytes, list[int]] = {}
        created: dict[bytes, _Touched] = {}
        for a in run.accounts:
            if a.touched:
                final[a.address] = [a.balance, a.nonce]
                if a.created:
                    created[a.address] = a
        if sender not in final:
            final[sender] = [sender_balance, sender_nonce]
        if price:
            final[sender][0] += (tx.gas - gas_used) * price
        fee = gas_used * state.get_tip(tx)
        if fee:
            entry = final.get(coinbase)
            if entry is None:
                final[coinbase] = [state.get_balance(coinbase) + fee, state.get_nonce(coinbase)]
            else:
                entry[0] += fee
        set_both = getattr(state._account_db, "set_balance_and_nonce", None)
        for addr, (balance, nonce) in final.items():
            acct = created.get(addr)
            if acct is not None:
                state.set_code(addr, acct.code)
            old_balance, old_nonce = _balance_nonce(state, adb, addr)
            if balance != old_balance and nonce != old_nonce and set_both is not None:
                set_both(addr, balance, nonce)
            else:
                if balance != old_balance:
                    state.set_balance(addr, balance)
                if nonce != old_nonce:
                    state.set_nonce(addr, nonce)
        for a in run.accounts:
            if a.touched:
                _write_storage(state, adb, a)
        # an account left with a nonce or a balance is not empty, nor one with code: EIP-161 cannot delete
        # it; an account that did not exist when revm ran and that nothing wrote still does not exist
        known = {a for a, (balance, nonce) in final.items() if balance or nonce}
        for a in run.accounts:
            if a.touched and a.has_code:
                known.add(a.address)
        known.update(a for a in run.absent if a not in final)
        return self._close(state, header, tx, coinbase, run, known)

    def _finish_call(self, state: Any, header: Any, tx: Any, sender: bytes, price: int, run: _Run) -> Any:
        """The stepwise tail of a message call (after gas bought and nonce bumped in the state)."""
        coinbase = state.execution_context.coinbase
        self._write_back(state, run.accounts)
        gas_used = run.result.gas_used
        if price:
            state.delta_balance(sender, (tx.gas - gas_used) * price)
        fee = gas_used * state.get_tip(tx)
        if fee:
            state.delta_balance(coinbase, fee)
        return self._close(state, header, tx, coinbase, run)

    def _close(
        self, state: Any, header: Any, tx: Any, coinbase: bytes, run: _Run, non_empty: set[bytes] | None = None
    ) -> Any:
        """Self-destructs, EIP-161 deletion of touched empty accounts, and the receipt (``non_empty``:
        accounts the caller knows are not empty, so not looked up again)."""
        result = run.result
        touched = {a.address for a in run.accounts if a.touched}
        touched.add(coinbase)
        if non_empty:
            touched -= non_empty
        for a in run.accounts:
            if a.selfdestructed:
                state.delete_account(a.address)
        for a in sorted(touched):
            if state.account_exists(a) and state.account_is_empty(a):
                state.delete_account(a)
        logs: list[RawLog] = []
        if result.is_success:
            for lg in result.logs:
                topics, data = lg.data
                logs.append((bytes.fromhex(lg.address[2:]), tuple(bytes(t) for t in topics), bytes(data)))
        status = b"\x01" if result.is_success else b""
        return make_receipt_raw(tx, status, header.gas_used + result.gas_used, logs)

    def _apply(self, state: Any, header: Any, tx: Any, sender: bytes, to: bytes | None, price: int) -> Any:
        """A creation transaction: revm's ``deploy`` buys the gas and bumps the nonce itself."""
        coinbase = state.execution_context.coinbase
        run = self._execute(
            state, sender, None, tx.value, bytes(tx.data), tx.gas, price, getattr(tx, "access_list", None)
        )
        self._write_back(state, run.accounts)
        if price:
            # revm's deploy paid the coinbase the whole gas price; EIP-1559 burns the base fee part
            burned = run.result.gas_used * (price - state.get_tip(tx))
            if burned:
                state.delta_balance(coinbase, -burned)
        return self._close(state, header, tx, coinbase, run)

    @staticmethod
    def _write_back(state: Any, accounts: list[_Touched]) -> None:
        for a in accounts:
            if not a.touched:
                continue
            addr = a.address
            if a.created:
                state.set_code(addr, a.code)
            if state.get_balance(addr) != a.balance:
                state.set_balance(addr, a.balance)
            if state.get_nonce(addr) != a.nonce:
                state.set_nonce(addr, a.nonce)
            for k, (orig, present) in a.storage.items():
                if orig != present:
                    state.set_storage(addr, k, present)

    # -- eth_call / estimateGas ---------------------------------------------------------------------
    def run_call(
        self, vm: Any, sender: bytes, to: bytes, value: int, data: bytes, gas: int, gas_price: int
    ) -> CallOutcome:
        state = vm.state
        if not to:
            return self.fallback.run_call(vm, sender, to, value, data, gas, gas_price)
        try:
            # eth_call is costless (py-evm charges no gas); GASPRICE still reports the caller's price,
            # which pyrevm can only do when the balance covers it (its check) -- else fall back.
            if gas_price and state.get_balance(sender) < gas * gas_price + value:
                raise NeedsPyEvm("price without funds")
            run = self._execute(state, sender, to, value, data, gas, gas_price, None)
        except NeedsPyEvm:
            return self.fallback.run_call(vm, sender, to, value, data, gas, gas_price)
        r = run.result
        spent = r.gas_used + r.gas_refunded
        if r.is_success:
            return CallOutcome(True, False, run.output, spent, r.gas_refunded)
        reverted = "Revert" in run.error
        output = _revert_output(run.error) if reverted else b""
        return CallOutcome(False, reverted, output, spent, 0, "" if reverted else _halt_reason(run.error))


def passes_pyevm_validation(state: Any, header: Any, tx: Any, gas_price: int | None = None) -> bool:
    """``True`` only when py-evm's checks before executing ``tx`` would all pass: the block gas limit
    (``validate_transaction_against_header``) and ``executor.validate_transaction`` (``tx.validate()``,
    then Cancun/London/Homestead/Frontier state rules: base fee, low ``s``, balance for gas and value,
    nonce, balance at the fee cap).

    Why: py-evm's chain of validators reads the sender's balance three times and walks ~15 helper calls
    per transaction (~15-20 µs); every condition here is one comparison on values read once. A ``False``
    is never a verdict: the caller then runs py-evm's own checks, which raise in py-evm's words (or pass,
    when this shortcut merely declined, e.g. a sender this node's cache did not recover). Scope: legacy,
    EIP-2930 and EIP-1559 transactions whose sender :class:`~co3chain.chain.senders.SenderCache` primed
    (so py-evm's signature check is already a no-op). Proven against py-evm on random transactions and
    states in ``tests/chain/test_validation_fastpath.py``. ``gas_price``: ``state.get_gas_price(tx)`` when
    the caller has it already.
    """
    attrs = tx.__dict__
    sender = attrs.get("sender")
    if sender is None or "check_signature_validity" not in attrs:
        return False  # not primed by the sender cache: py-evm checks the signature itself
    type_id = tx.type_id
    if type_id is not None and type_id != 1 and type_id != 2:
        return False
    gas = tx.gas
    if header.gas_used + gas > header.gas_limit:
        return False
    if tx.data.__class__ is not bytes or tx.to.__class__ is not bytes:
        return False
    if not passes_validate(tx, tx.intrinsic_gas):
        return False
    s = tx.s
    if s > HALF_N or s == 0:
        return False
    max_fee = tx.max_fee_per_gas
    if max_fee < state.execution_context.base_fee_per_gas:
        return False
    balance, nonce = _balance_nonce(state, _direct_db(state), sender)  # one account read, not two
    if gas_price is None:
        gas_price = state.get_gas_price(tx)
    if balance < gas * gas_price + tx.value or balance < gas * max_fee:
        return False
    return nonce == tx.nonce


_LEGACY_MAKE_RECEIPT = FrontierTransaction.make_receipt


def logs_bloom(logs: list[tuple[bytes, tuple[int, ...], bytes]]) -> int:
    """The 2048-bit logs bloom of ``(address, topics, data)`` entries (yellow paper M3:2048).

    Same bits as ``eth_bloom``'s ``BloomFilter`` (``Receipt`` computes it that way when no bloom is
    given), without its per-item generator and object layers.
    """
    return bloom_of([(a, tuple(t.to_bytes(32, "big") for t in topics), d) for a, topics, d in logs])


def make_receipt(tx: Any, status: bytes, cumulative_gas: int, logs: list[tuple[bytes, tuple[int, ...], bytes]]) -> Any:
    """``tx.make_receipt(status, cumulative_gas, logs)`` (topics as integers, py-evm's form)."""
    return make_receipt_raw(
        tx, status, cumulative_gas, [(a, tuple(t.to_bytes(32, "big") for t in topics), d) for a, topics, d in logs]
    )


def make_receipt_raw(tx: Any, status: bytes, cumulative_gas: int, logs: list[RawLog]) -> Any:
    """``tx.make_receipt(status, cumulative_gas, logs)`` for logs with 32-byte topics (revm's form).

    Legacy transactions get :func:`~co3chain.chain.fastreceipt.legacy_receipt` (the same ``Receipt``,
    encoding precomputed); typed ones go through py-evm.
    """
    if getattr(type(tx), "make_receipt", None) is not _LEGACY_MAKE_RECEIPT:
        return tx.make_receipt(
            status, cumulative_gas, tuple((a, tuple(int.from_bytes(t, "big") for t in topics), d) for a, topics, d in logs)
        )
    return legacy_receipt(status, cumulative_gas, logs)


_REVERT_RE = re.compile(r"output: (?:0x)?([0-9a-fA-F]*)")


def _revert_output(error: str) -> bytes:
    m = _REVERT_RE.search(error)
    return bytes.fromhex(m.group(1)) if m and len(m.group(1)) % 2 == 0 else b""


def _halt_reason(error: str) -> str:
    m = re.search(r"reason: (\w+)", error)
    return f"execution failed: {m.group(1) if m else error[:120]}"
