"""Export (Art. 15/20) and erasure (Art. 17) of what the system holds about one citizen address.

Scope of each store:

* **oracle queue** — every event of the citizen with its raw body (while retention keeps it), salt, digest and
  derived location facts; the submission transactions that carried them are named (hash, state, block) but
  their raw bytes are not exported, because a batch also carries other citizens' attestations;
* **API store** — the indexed copy of chain events about the address (citizen record, attestations, votes,
  proposals, feed entries);
* **chain** — the registry record, token balance and every suite event with the address in an indexed topic.

Erasure removes what can be removed: the oracle's body, MAC, salt, digest and H3 cell (see
:meth:`co3chain.oracle.store.SqliteQueueStore.erase_citizen`).  The API store holds only public chain data,
and the chain is append-only: those records stay, but without the salt the evidence commitment no longer
links them to the post or the check-in.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from eth_utils import event_abi_to_log_topic, is_hex_address, to_checksum_address
from web3._utils.events import get_event_data

from co3chain.errors import Co3Error

EXPORT_VERSION = 1


class PrivacyError(Co3Error):
    """A privacy request cannot be carried out (bad address, store unavailable)."""


def checked_address(citizen: str) -> str:
    """The checksummed address, or :class:`PrivacyError` with one readable line."""
    if not isinstance(citizen, str) or not is_hex_address(citizen):
        raise PrivacyError(f"not an address: {citizen!r} (expected 0x followed by 40 hex digits)")
    return to_checksum_address(citizen)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _body(raw: bytes) -> Any:
    """A stored webhook body as the citizen should read it: JSON when it is, else base64."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"base64": base64.b64encode(raw).decode("ascii")}


# -- oracle -----------------------------------------------------------------------------------------------------

def oracle_export(store: Any, citizen: str) -> dict[str, Any]:
    """Everything the oracle queue holds about ``citizen`` (a :class:`~co3chain.oracle.store.QueueStore`)."""
    items = store.items_of_citizen(citizen)
    events = []
    for item in items:
        entry = item.public()
        entry.update(
            source_kind=item.source_kind, body=_body(item.body), evidence_hash=item.evidence_hash,
            evidence_digest=item.evidence_digest, evidence_salt=item.evidence_salt,
            location={"inside_geofence": item.geo_inside, "h3_cell": item.geo_cell},
            attestation=item.attestation, body_removed_at=item.redacted_at, erased_at=item.erased_at)
        events.append(entry)
    submissions = [{"tx_hash": s.tx_hash, "state": s.state, "block": s.block}
                   for s in store.submissions_of([i.attestation_id for i in items])]
    return {"events": events, "submissions": submissions}


def oracle_erase(store: Any, citizen: str, now: float) -> dict[str, Any]:
    """Erase the oracle's off-chain evidence of ``citizen``; returns counts and what is still pending."""
    result = store.erase_citizen(citizen, now)
    return {"erased": len(result.erased), "stopped_in_flight": result.stopped,
            "pending_submitted": result.pending,
            "complete": not result.pending}


# -- API store ---------------------------------------------------------------------------------------------------

_API_TABLES: tuple[tuple[str, str], ...] = (
    ("citizens", "address"), ("attestations", "subject"), ("votes", "voter"), ("proposals", "proposer"),
)


def api_export(api_store: Any, citizen: str) -> dict[str, Any]:
    """Rows of the API's indexed store (:class:`~co3chain.api.store.ApiStore`) about ``citizen``."""
    low = citizen.lower()
    out: dict[str, Any] = {}
    for table, column in _API_TABLES:
        rows = api_store.query(f"SELECT * FROM {table} WHERE lower({column}) = ?", (low,))
        out[table] = [dict(r) for r in rows]
    feed = api_store.query("SELECT seq, type, block, data FROM feed WHERE lower(data) LIKE ? ORDER BY seq",
                           (f'%"{low}"%',))
    out["feed"] = [{"seq": r["seq"], "type": r["type"], "block": r["block"], "data": json.loads(r["data"])}
                   for r in feed]
    return out


# -- chain -----------------------------------------------------------------------------------------------------------

def chain_export(w3: Any, contracts: Mapping[str, Any], citizen: str, from_block: int = 0) -> dict[str, Any]:
    """What the chain holds about ``citizen``: registry record, balance, and suite events naming it in a topic.

    Why topics: every event of the suite that concerns a person indexes the address (``citizen``, ``subject``,
    ``voter``, ``from``/``to``, ``delegator``...), so three ``eth_getLogs`` filters (topic 1, 2 or 3) find them
    all without scanning unrelated events.
    """
    out: dict[str, Any] = {}
    registry = contracts.get("CitizenRegistry")
    if registry is not None:
        fn = registry.get_function_by_name("getCitizen")
        names = [c["name"] for c in fn.abi["outputs"][0].get("components", [])]
        record = fn(citizen).call()
        out["citizen"] = _jsonable(dict(zip(names, record, strict=False)) if names else record)
    token = contracts.get("CommonsToken")
    if token is not None:
        out["token_balance"] = str(token.functions.balanceOf(citizen).call())
    decoders: dict[bytes, tuple[str, dict[str, Any]]] = {}
    addresses: dict[str, str] = {}
    for name, contract in contracts.items():
        addresses[contract.address.lower()] = name
        for item in contract.abi:
            if item.get("type") == "event" and not item.get("anonymous"):
                decoders[event_abi_to_log_topic(item)] = (name, item)
    topic = "0x" + "00" * 12 + citizen.lower()[2:]
    seen: set[tuple[int, int]] = set()
    events = []
    for position in (1, 2, 3):
        logs = w3.eth.get_logs({"fromBlock": from_block, "toBlock": "latest",
                                "address": [to_checksum_address(a) for a in addresses],
                                "topics": [None] * position + [topic]})
        for entry in logs:
            key = (int(entry["blockNumber"]), int(entry["logIndex"]))
            known = decoders.get(bytes(entry["topics"][0]))
            if key in seen or known is None:
                continue
            seen.add(key)
            contract_name, abi = known
            decoded = get_event_data(w3.codec, abi, entry)
            events.append({"contract": contract_name, "event": abi["name"], "block": key[0], "log_index": key[1],
                           "tx_hash": "0x" + bytes(entry["transactionHash"]).hex(),
                           "args": _jsonable(dict(decoded["args"]))})
    out["events"] = sorted(events, key=lambda e: (e["block"], e["log_index"]))
    return out


# -- the whole request ---------------------------------------------------------------------------------------------

def export_citizen(citizen: str, *, oracle_store: Any | None = None, api_store: Any | None = None,
                   w3: Any | None = None, contracts: Mapping[str, Any] | None = None,
                   from_block: int = 0) -> dict[str, Any]:
    """The JSON export for one address from every store given (at least one)."""
    address = checked_address(citizen)
    if oracle_store is None and api_store is None and (w3 is None or not contracts):
        raise PrivacyError("nothing to export from: give the oracle queue, the API store and/or the chain")
    out: dict[str, Any] = {"version": EXPORT_VERSION, "citizen": address, "sources": []}
    if oracle_store is not None:
        out["oracle"] = oracle_export(oracle_store, address)
        out["sources"].append("oracle")
    if api_store is not None:
        out["api"] = api_export(api_store, address)
        out["sources"].append("api")
    if w3 is not None and contracts:
        out["chain"] = chain_export(w3, contracts, address, from_block)
        out["sources"].append("chain")
    return out


def erase_citizen(citizen: str, *, oracle_store: Any, now: float) -> dict[str, Any]:
    """Erase the off-chain evidence of ``citizen``; what the chain keeps is public and stays (documented)."""
    address = checked_address(citizen)
    outcome = oracle_erase(oracle_store, address, now)
    outcome["citizen"] = address
    outcome["kept"] = ("on-chain records (public, append-only) and the API's indexed copy of them; the "
                       "evidence commitments no longer link to any evidence")
    return outcome
