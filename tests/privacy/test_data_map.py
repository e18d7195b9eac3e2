"""The data map in docs/privacy.md stays true: a new column in the oracle queue or the API store fails here
until the map (and this list) says what it holds, who reads it and how long it is kept."""

from __future__ import annotations

import sqlite3

from co3chain.api.store import ApiStore
from co3chain.oracle.store import SqliteQueueStore

#: Every column of the oracle queue (docs/privacy.md §1.2).
ORACLE_COLUMNS = {
    "events": {
        "seq", "attestation_id", "source", "event_id", "source_kind", "body", "auth_timestamp", "auth_signature",
        "citizen", "area_id", "activity_id", "kind", "observed_at", "evidence_hash", "state", "reason",
        "attestation", "signatures", "tx_hash", "block", "attempts", "next_attempt_at", "received_at", "updated_at",
        "evidence_digest", "evidence_salt", "geo_inside", "geo_cell", "redacted_at", "erased_at",
    },
    "submissions": {"tx_hash", "nonce", "raw_tx", "attestation_ids", "state", "block", "created_at", "updated_at"},
}

#: Every column of the API store (docs/privacy.md §1.3): copies of chain event fields, bookkeeping, geometries.
API_COLUMNS = {
    "meta": {"key", "value"},
    "proposals": {"id", "proposer", "area_id", "mode", "commit_reveal", "vote_start", "vote_end", "reveal_end",
                  "quorum_numerator", "description", "canceled", "block", "tx_hash"},
    "votes": {"block", "log_index", "proposal_id", "voter", "type", "support", "weight", "commitment", "tx_hash"},
    "areas": {"id", "managing_pa", "geometry_hash", "metadata_uri", "creator", "closed_at", "block", "tx_hash"},
    "activities": {"id", "area_id", "kind", "token_reward", "reputation_reward", "starts_at", "ends_at",
                   "max_claims", "closed_at", "block", "tx_hash"},
    "attestations": {"id", "subject", "activity_id", "kind", "evidence_hash", "token_reward", "reputation_reward",
                     "block", "tx_hash"},
    "citizens": {"address", "identity_hash", "expires_at", "status", "registrar", "block"},
    "feed": {"seq", "type", "block", "data"},
    "geometries": {"hash", "geojson"},
    # citizen initiatives (chain events of CitizenInitiatives)
    "initiatives": {"id", "author", "area_id", "electorate", "title", "version", "status", "opened_at", "deadline",
                    "required", "support_count", "proposal_id", "block", "tx_hash"},
    "initiative_versions": {"initiative_id", "version", "version_hash", "text_hash", "title", "area_id", "electorate",
                            "mode", "voting_period", "actions_hash", "block", "tx_hash"},
    "initiative_supports": {"initiative_id", "supporter", "support_count", "by_signature", "block", "log_index",
                            "tx_hash"},
    # electorates (chain events of CitizenRegistry and CO3Governance)
    "pa_accounts": {"account", "pa_id", "block", "tx_hash"},
    "citizen_pas": {"citizen", "pa_id", "block"},
    "electoral_groups": {"id", "pa_id", "kind", "metadata_hash", "registrar", "block", "tx_hash"},
    "group_members": {"group_id", "citizen", "block"},
    "union_electorates": {"electorate", "pa_id", "group_ids", "definer", "block", "tx_hash"},
    "proposal_electorates": {"proposal_id", "electorate", "block"},
    # liquid delegation (chain events of LiquidDelegation; the to-do list of votes whose delegators to count)
    "delegation_changes": {"delegator", "scope", "from_delegate", "to_delegate", "timestamp", "block", "log_index",
                           "tx_hash"},
    "delegation_weights": {"proposal_id", "citizen", "representative", "kind", "weight", "hops", "regained", "block",
                           "log_index", "tx_hash"},
    "delegation_todo": {"proposal_id", "voter"},
}


def _columns(path) -> dict[str, set[str]]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    out = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    conn.close()
    return out


def test_oracle_queue_holds_only_mapped_fields(tmp_path) -> None:
    SqliteQueueStore(tmp_path / "q.db").close()
    assert _columns(tmp_path / "q.db") == ORACLE_COLUMNS


def test_api_store_holds_only_mapped_fields(tmp_path) -> None:
    ApiStore(tmp_path / "api.db").close()
    assert _columns(tmp_path / "api.db") == API_COLUMNS
