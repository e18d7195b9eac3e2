"""Besu-format ``genesis.json`` for a QBFT network: parsing (:func:`load_genesis`) and creation
(:func:`make_genesis`).

Keys are read case-insensitively, as Besu reads them; QBFT options missing from the file take Besu's
defaults (``blockperiodseconds`` 1, ``requesttimeoutseconds`` 1, ``epochlength`` 30000); options Besu
honours that co3chain does not implement (validator-contract mode, ``transitions``, block rewards, other
consensus sections, a fork schedule other than London/Shanghai/Cancun at 0) are refused, never ignored.

Accepted keys (as Besu): ``config.chainId``; ``config.qbft.{blockperiodseconds, epochlength,
requesttimeoutseconds}``; ``config.zeroBaseFee`` (free gas: base fee 0 from block 1) or ``config.fixedBaseFee``
(every block's base fee is the genesis ``baseFeePerGas``, see :data:`DEFAULT_FIXED_BASE_FEE`; one of the two,
absent both = free gas as before);
optional ``config.co3chain`` for our extensions (``accountAllowlist``: list of addresses allowed to send
transactions, ``accountPermissioningContract``: address of the on-chain account allow-list, see
:mod:`co3chain.node.permissioning`, ``maxRequestTimeoutSeconds``); top-level ``gasLimit``,
``timestamp``, ``extraData`` (QBFT RLP with the initial validators), ``difficulty``, ``mixHash``,
``nonce``, ``coinbase``, ``baseFeePerGas``, ``alloc`` ({address: {balance, nonce, code, storage}}). Numbers may be hex strings,
decimal strings or JSON integers. Every problem raises :class:`GenesisError` naming the field.

The chain runs Cancun from block 0, so the genesis header is a Cancun header (withdrawalsRoot,
blobGasUsed, excessBlobGas, parentBeaconBlockRoot present). Its hash equals Besu's for the same file when
the file enables ``shanghaiTime``/``cancunTime`` at 0 (as :func:`make_genesis` writes); fork times other
than 0, and later forks, are refused rather than silently ignored. Missing header fields follow Besu
(``difficulty`` and ``gasLimit`` required, ``mixHash`` zeros, a missing ``baseFeePerGas`` 1 gwei in block 0
only). Any Besu file, runnable or not, is hashed by
:mod:`co3chain.chain.genesis_hash` (``co3chain network genesis-hash``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import is_hex_address, to_canonical_address, to_checksum_address

from co3chain.consensus.qbft.extradata import ExtraDataError, QbftExtraData
from co3chain.errors import Co3Error

#: 100 Mgas: ~1,900 ERC-20 transfers or a few large deployments per block. Why not Besu's usual free-gas
#: 0x1fffffffffffff: py-evm executes ~20 Mgas/s, so a single transaction allowed to burn 2^53 gas in a
#: loop would stall the proposer indefinitely; 100 Mgas bounds a block to a few seconds of execution.
DEFAULT_GAS_LIMIT = 100_000_000
QBFT_MIX_HASH_HEX = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"


class GenesisError(Co3Error):
    """genesis.json is missing a field or has an invalid value."""


@dataclass(frozen=True)
class AllocAccount:
    """Pre-funded account state at genesis."""

    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Genesis:
    """Parsed genesis: chain parameters plus the fields of block 0."""

    chain_id: int
    block_period: int
    epoch_length: int
    request_timeout: int
    gas_limit: int
    timestamp: int
    extra_data: bytes
    alloc: dict[bytes, AllocAccount]
    difficulty: int = 1
    mix_hash: bytes = bytes.fromhex(QBFT_MIX_HASH_HEX[2:])
    nonce: bytes = b"\x00" * 8
    coinbase: bytes = b"\x00" * 20
    #: block 0's base fee: 0, or Besu's 1 gwei default when the file names none (free gas), or the fixed fee
    base_fee: int = 0
    #: base fee of every block after genesis: 0 on a free-gas network (``zeroBaseFee``), else the genesis
    #: ``baseFeePerGas`` (``fixedBaseFee``); a consensus rule checked on every header
    fixed_base_fee: int = 0
    account_allowlist: tuple[bytes, ...] | None = None
    account_permissioning_contract: bytes | None = None
    max_request_timeout: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def validators(self) -> list[bytes]:
        """Initial validators from extraData (20-byte addresses)."""
        return list(QbftExtraData.decode(self.extra_data).validators)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Genesis:
        return parse_genesis(data)


def _num(value: Any, name: str, *, default: int | None = None) -> int:
    if value is None:
        if default is None:
            raise GenesisError(f"genesis: missing required field {name!r}")
        return default
    if isinstance(value, bool):
        raise GenesisError(f"genesis: {name} must be a number, got {value!r}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str):
        s = value.strip()
        try:
            result = int(s, 16) if s.lower().startswith("0x") else int(s, 10)
        except ValueError:
            raise GenesisError(f"genesis: {name} is not a number: {value!r}") from None
    else:
        raise GenesisError(f"genesis: {name} must be a number, got {type(value).__name__}")
    if result < 0:
        raise GenesisError(f"genesis: {name} must not be negative")
    return result


def _hexbytes(value: Any, name: str, *, length: int | None = None, default: bytes | None = None) -> bytes:
    if value is None:
        if default is None:
            raise GenesisError(f"genesis: missing required field {name!r}")
        return default
    if not isinstance(value, str):
        raise GenesisError(f"genesis: {name} must be a hex string")
    s = value[2:] if value.lower().startswith("0x") else value
    if len(s) % 2:
        s = "0" + s
    try:
        b = bytes.fromhex(s)
    except ValueError:
        raise GenesisError(f"genesis: {name} is not valid hex") from None
    if length is not None:
        if len(b) > length:
            raise GenesisError(f"genesis: {name} must be {length} bytes, got {len(b)}")
        b = b.rjust(length, b"\x00")
    return b


def _address(value: str, name: str) -> bytes:
    v = value if value.lower().startswith("0x") else "0x" + value
    if not is_hex_address(v):
        raise GenesisError(f"genesis: {name} is not a 20-byte hex address: {value!r}")
    return to_canonical_address(v)


class _Keys(dict):  # type: ignore[type-arg]
    """A JSON object read case-insensitively, as Besu reads genesis files (it lowercases every key)."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        super().__init__()
        for key, value in data.items():
            low = str(key).lower()
            if low in self:
                raise GenesisError(f"genesis: {where}{key!r} is given twice (keys are case-insensitive)")
            super().__setitem__(low, value)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key).lower())


def _obj(value: Any, where: str) -> _Keys:
    if not isinstance(value, Mapping):
        raise GenesisError(f"genesis: {where} must be an object")
    return _Keys(value, f"{where}." if where else "")


#: Besu's genesis base fee when London is at block 0 and the file gives none (GenesisConfig).
BESU_GENESIS_BASE_FEE = 1_000_000_000

#: Base fee of new networks (``network init`` / ``network genesis``): 1000 wei, Besu's default
#: ``--min-gas-price``, which is the base fee Besu's ``fixedBaseFee`` market uses. Why not 0: ethers v6 sends
#: EIP-1559 transactions only when the block's base fee is non-zero. Why so small: it only has to be
#: non-zero; a 100k-gas transaction burns 10^8 wei, so the gas money funded at genesis never runs out.
DEFAULT_FIXED_BASE_FEE = 1000
#: Gas money each initial validator gets on a fixed-base-fee network unless the genesis funds it otherwise.
DEFAULT_VALIDATOR_GAS_FUNDS = 10**24

#: Besu's defaults for QBFT options missing from genesis (JsonBftConfigOptions).
BESU_DEFAULT_BLOCK_PERIOD = 1
BESU_DEFAULT_REQUEST_TIMEOUT = 1
BESU_DEFAULT_EPOCH_LENGTH = 30000

#: Options Besu understands that co3chain does not implement: refused, never silently ignored.
_UNSUPPORTED_QBFT = {
    "validatorcontractaddress": "validator-contract mode (config.qbft.validatorcontractaddress) is not "
    "implemented: co3chain takes the validator set from block-header votes",
    "blockreward": "block rewards (config.qbft.blockreward) are not implemented: this is a free-gas network "
    "without issuance",
    "miningbeneficiary": "config.qbft.miningbeneficiary is not implemented (no block rewards)",
}
_OTHER_CONSENSUS = ("ibft2", "ibft", "clique", "ethash", "istanbul")


def parse_genesis(data: Mapping[str, Any]) -> Genesis:
    """Validate a decoded genesis.json object and return a :class:`Genesis`.

    Keys are read case-insensitively (Besu lowercases them); QBFT options missing from the file take
    Besu's defaults (block period 1 s, request timeout 1 s, epoch 30000) so both clients read the same
    file the same way. Options Besu would honour and co3chain does not implement are refused.
    """
    if not isinstance(data, Mapping):
        raise GenesisError("genesis: top level must be a JSON object")
    original = data
    data = _obj(data, "")
    if data.get("config") is None:
        raise GenesisError("genesis: missing 'config' object")
    config = _obj(data.get("config"), "config")
    chain_id = _num(config.get("chainId"), "config.chainId")
    if chain_id == 0:
        raise GenesisError("genesis: config.chainId must be positive")
    for other in _OTHER_CONSENSUS:
        if other in config:
            raise GenesisError(f"genesis: config.{other} is not supported (co3chain runs QBFT only)")
    if config.get("qbft") is None:
        raise GenesisError("genesis: missing 'config.qbft' object (only QBFT networks are supported)")
    qbft = _obj(config.get("qbft"), "config.qbft")
    for option, reason in _UNSUPPORTED_QBFT.items():
        if qbft.get(option) is not None and not (option == "blockreward" and _is_zero(qbft.get(option))):
            raise GenesisError(f"genesis: {reason}")
    if config.get("transitions") is not None:
        raise GenesisError(
            "genesis: config.transitions is not implemented (block period, validator mode or rewards changing "
            "at a block); change the validator set by vote instead"
        )
    block_period = _num(
        qbft.get("blockperiodseconds"), "config.qbft.blockperiodseconds", default=BESU_DEFAULT_BLOCK_PERIOD
    )
    epoch = _num(qbft.get("epochlength"), "config.qbft.epochlength", default=BESU_DEFAULT_EPOCH_LENGTH)
    timeout = _num(
        qbft.get("requesttimeoutseconds"), "config.qbft.requesttimeoutseconds",
        default=BESU_DEFAULT_REQUEST_TIMEOUT,
    )
    if block_period < 1 or epoch < 1 or timeout < 1:
        raise GenesisError("genesis: qbft blockperiodseconds, epochlength, requesttimeoutseconds must be ≥ 1")
    _check_fork_schedule(config)
    fixed = config.get("fixedBaseFee", False)
    if fixed not in (True, False):
        raise GenesisError("genesis: config.fixedBaseFee must be true or false")
    zero_base_fee = config.get("zeroBaseFee", not fixed)
    if zero_base_fee not in (True, False):
        raise GenesisError("genesis: config.zeroBaseFee must be true or false")
    if zero_base_fee and fixed:
        raise GenesisError("genesis: config.zeroBaseFee and config.fixedBaseFee exclude each other")
    if not zero_base_fee and not fixed:
        raise GenesisError(
            "genesis: the dynamic EIP-1559 base fee is not supported: set config.zeroBaseFee (free gas) or "
            "config.fixedBaseFee (the genesis baseFeePerGas in every block)"
        )

    extras = _obj(config.get("co3chain") or {}, "config.co3chain")
    allowlist: tuple[bytes, ...] | None = None
    if extras.get("accountAllowlist") is not None:
        raw_list = extras["accountAllowlist"]
        if not isinstance(raw_list, list):
            raise GenesisError("genesis: config.co3chain.accountAllowlist must be a list of addresses")
        allowlist = tuple(_address(a, "config.co3chain.accountAllowlist[]") for a in raw_list)
    perm_raw = extras.get("accountPermissioningContract")
    if perm_raw is not None and not isinstance(perm_raw, str):
        raise GenesisError("genesis: config.co3chain.accountPermissioningContract must be an address string")
    perm_contract = (
        None if perm_raw is None else _address(perm_raw, "config.co3chain.accountPermissioningContract")
    )
    max_timeout = extras.get("maxRequestTimeoutSeconds")
    max_timeout_i = (
        None if max_timeout is None else _num(max_timeout, "config.co3chain.maxRequestTimeoutSeconds")
    )

    extra_data = _hexbytes(data.get("extraData"), "extraData")
    try:
        extra = QbftExtraData.decode(extra_data)
    except ExtraDataError as exc:
        raise GenesisError(f"genesis: extraData is not a QBFT extraData: {exc}") from exc
    if not extra.validators:
        raise GenesisError("genesis: extraData lists no validators")
    if len(set(extra.validators)) != len(extra.validators):
        raise GenesisError("genesis: extraData lists a validator twice")

    # Besu gives a London-at-0 genesis that names no base fee 1 gwei (even with zeroBaseFee); block 0 must
    # carry the same value to have Besu's hash. Blocks 1+ have base fee 0 either way.
    genesis_base_fee = BESU_GENESIS_BASE_FEE
    if data.get("baseFeePerGas") is not None:
        genesis_base_fee = _num(data.get("baseFeePerGas"), "baseFeePerGas")
        if genesis_base_fee != 0 and not fixed:
            raise GenesisError("genesis: baseFeePerGas must be 0 on a free-gas network (config.zeroBaseFee)")
    elif fixed:
        raise GenesisError("genesis: config.fixedBaseFee needs baseFeePerGas (the base fee of every block)")
    if fixed and genesis_base_fee == 0:
        raise GenesisError("genesis: config.fixedBaseFee needs a non-zero baseFeePerGas (use zeroBaseFee for 0)")
    _check_besu_only_header_fields(data)

    alloc = parse_alloc(data.get("alloc", {}))

    return Genesis(
        chain_id=chain_id,
        block_period=block_period,
        epoch_length=epoch,
        request_timeout=timeout,
        gas_limit=_num(data.get("gasLimit"), "gasLimit (Besu refuses a genesis without it)"),
        timestamp=_num(data.get("timestamp"), "timestamp", default=0),
        extra_data=extra_data,
        alloc=alloc,
        difficulty=_num(data.get("difficulty"), "difficulty (Besu refuses a genesis without it)"),
        # Besu's default is zeros (not the QBFT constant block 1+ carry): the hash must match Besu's
        mix_hash=_hexbytes(data.get("mixHash"), "mixHash", length=32, default=b"\x00" * 32),
        nonce=_hexbytes(data.get("nonce"), "nonce", length=8, default=b"\x00" * 8),
        coinbase=_hexbytes(data.get("coinbase"), "coinbase", length=20, default=b"\x00" * 20),
        base_fee=genesis_base_fee,
        fixed_base_fee=genesis_base_fee if fixed else 0,
        account_allowlist=allowlist,
        account_permissioning_contract=perm_contract,
        max_request_timeout=max_timeout_i,
        raw=dict(original),
    )



def parse_alloc(alloc_raw: Any) -> dict[bytes, AllocAccount]:
    """The ``alloc`` object of a genesis file: {address: {balance, nonce, code, storage}} (keys any case)."""
    if alloc_raw is None:
        return {}
    if not isinstance(alloc_raw, Mapping):
        raise GenesisError("genesis: alloc must be an object")
    alloc: dict[bytes, AllocAccount] = {}
    for addr, acct_raw in alloc_raw.items():
        a = _address(addr, f"alloc key {addr!r}")
        if a in alloc:
            raise GenesisError(f"genesis: alloc lists {addr} twice (addresses are case-insensitive)")
        if not isinstance(acct_raw, Mapping):
            raise GenesisError(f"genesis: alloc[{addr}] must be an object")
        acct = _obj(acct_raw, f"alloc[{addr}]")
        storage_raw = acct.get("storage", {}) or {}
        if not isinstance(storage_raw, Mapping):
            raise GenesisError(f"genesis: alloc[{addr}].storage must be an object")
        storage = {
            _num(k if str(k).lower().startswith("0x") else "0x" + str(k), f"alloc[{addr}].storage key"): _num(
                v if str(v).lower().startswith("0x") else "0x" + str(v), f"alloc[{addr}].storage[{k}]"
            )
            for k, v in storage_raw.items()
        }
        alloc[a] = AllocAccount(
            balance=_num(acct.get("balance"), f"alloc[{addr}].balance", default=0),
            nonce=_num(acct.get("nonce"), f"alloc[{addr}].nonce", default=0),
            code=_hexbytes(acct.get("code"), f"alloc[{addr}].code", default=b""),
            storage=storage,
        )

    return alloc


def _check_besu_only_header_fields(data: _Keys) -> None:
    """Refuse header fields Besu reads from genesis that co3chain's block 0 does not carry.

    Why: Besu hashes ``parentHash``, ``blobGasUsed``, ``excessBlobGas`` and ``parentBeaconBlockRoot``
    from the file; co3chain's genesis has them at zero, so non-zero values would split the networks.
    """
    for name, size in (("parentHash", 32), ("parentBeaconBlockRoot", 32)):
        if data.get(name) is not None and any(_hexbytes(data.get(name), name, length=size)):
            raise GenesisError(f"genesis: a non-zero {name} is not supported (co3chain's genesis has zeros)")
    for name in ("blobGasUsed", "excessBlobGas"):
        value = data.get(name)
        if value is not None and _num(value if str(value)[:2].lower() == "0x" else f"0x{value}", name) != 0:
            raise GenesisError(f"genesis: a non-zero {name} is not supported (co3chain's genesis has zeros)")


def _is_zero(value: Any) -> bool:
    try:
        return _num(value, "config.qbft.blockreward") == 0
    except GenesisError:
        return False


def _check_fork_schedule(config: _Keys) -> None:
    """co3chain runs Cancun from block 0, so the file must say so.

    Why refuse instead of assuming: Besu builds (and hashes) the genesis header from the file's fork
    schedule — without ``londonBlock: 0`` it has no base fee field, without ``shanghaiTime``/``cancunTime``
    at 0 no withdrawals/blob fields — so the two clients would disagree on the genesis hash and on every
    block after it. A clear error now beats a network that silently cannot interoperate.
    """
    for fork_key in ("shanghaiTime", "cancunTime"):
        if config.get(fork_key) is not None and _num(config[fork_key], f"config.{fork_key}") != 0:
            raise GenesisError(f"genesis: config.{fork_key} must be 0 (co3chain runs Cancun from genesis)")
    for fork_key in ("pragueTime", "osakaTime"):
        if config.get(fork_key) is not None:
            raise GenesisError(f"genesis: config.{fork_key} is not supported (co3chain runs Cancun)")
    missing = [k for k in ("londonBlock", "shanghaiTime", "cancunTime") if config.get(k) is None]
    if config.get("londonBlock") is not None and _num(config["londonBlock"], "config.londonBlock") != 0:
        missing.insert(0, "londonBlock (must be 0)")
    if missing:
        raise GenesisError(
            "genesis: the fork schedule must enable London, Shanghai and Cancun at genesis (co3chain runs "
            f"Cancun from block 0; Besu would build a pre-Cancun genesis header with another hash): missing "
            f"config.{', config.'.join(missing)}; add \"londonBlock\": 0, \"shanghaiTime\": 0, \"cancunTime\": 0"
        )


def read_genesis_json(path: Path | str) -> Any:
    """The decoded JSON of a genesis file (not validated); one readable error if it cannot be read."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise GenesisError(f"cannot read genesis file {p}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise GenesisError(f"genesis file {p} is not valid JSON: {exc}") from exc


def load_genesis(path: Path | str) -> Genesis:
    """Read and validate a genesis.json file."""
    return parse_genesis(read_genesis_json(path))


def make_genesis(
    validators: Iterable[bytes | str],
    chain_id: int,
    alloc: Mapping[bytes | str, Mapping[str, Any] | int] | None = None,
    *,
    block_period: int = 2,
    epoch: int = 30000,
    request_timeout: int = 10,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    timestamp: int = 0,
    account_allowlist: Iterable[bytes | str] | None = None,
    account_permissioning_contract: bytes | str | None = None,
    base_fee: int = 0,
) -> dict[str, Any]:
    """A Besu-compatible genesis.json dict for ``network init``.

    ``alloc`` values are either a balance (int, wei) or a Besu alloc object (``balance``/``code``/...).
    Validators are sorted ascending in extraData as QBFT requires. ``base_fee`` 0 writes a free-gas genesis
    (``zeroBaseFee``, the library default, so existing files and test vectors stay byte-identical);
    a positive value writes ``fixedBaseFee`` with that ``baseFeePerGas`` (the CLI's default for new
    networks, :data:`DEFAULT_FIXED_BASE_FEE`).
    """
    if base_fee < 0:
        raise GenesisError("make_genesis: base_fee must not be negative")
    vals = sorted({_to_addr(v) for v in validators})
    if not vals:
        raise GenesisError("make_genesis: at least one validator is required")
    extra = QbftExtraData(validators=vals).encode()
    alloc_json: dict[str, Any] = {}
    for addr, spec in (alloc or {}).items():
        key = to_checksum_address(_to_addr(addr))[2:].lower()
        if isinstance(spec, int):
            alloc_json[key] = {"balance": hex(spec)}
        else:
            alloc_json[key] = {k: _json_value(v) for k, v in spec.items()}
    config: dict[str, Any] = {
        "chainId": int(chain_id),
        "berlinBlock": 0,
        "londonBlock": 0,
        "shanghaiTime": 0,
        "cancunTime": 0,
        **({"fixedBaseFee": True} if base_fee else {"zeroBaseFee": True}),
        "qbft": {
            "blockperiodseconds": int(block_period),
            "epochlength": int(epoch),
            "requesttimeoutseconds": int(request_timeout),
        },
    }
    if account_allowlist is not None:
        config["co3chain"] = {
            "accountAllowlist": [to_checksum_address(_to_addr(a)) for a in account_allowlist]
        }
    if account_permissioning_contract is not None:
        config.setdefault("co3chain", {})["accountPermissioningContract"] = to_checksum_address(
            _to_addr(account_permissioning_contract)
        )
    genesis = {
        "config": config,
        "nonce": "0x0",
        "timestamp": hex(timestamp),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH_HEX,
        "coinbase": "0x0000000000000000000000000000000000000000",
        "baseFeePerGas": hex(base_fee),
        "extraData": "0x" + extra.hex(),
        "alloc": alloc_json,
    }
    parse_genesis(genesis)  # fail early on bad arguments
    return genesis


def _json_value(v: Any) -> Any:
    """Alloc values for JSON: ints and bytes as hex strings, storage maps recursively."""
    if isinstance(v, bool):
        raise GenesisError("genesis alloc values must be numbers, hex strings or bytes")
    if isinstance(v, int):
        return hex(v)
    if isinstance(v, bytes | bytearray):
        return "0x" + bytes(v).hex()
    if isinstance(v, Mapping):
        return {_json_value(k) if not isinstance(k, str) else k: _json_value(x) for k, x in v.items()}
    return v


def _to_addr(v: bytes | str) -> bytes:
    if isinstance(v, bytes | bytearray):
        if len(v) != 20:
            raise GenesisError(f"address must be 20 bytes, got {len(v)}")
        return bytes(v)
    return _address(v, "address")
