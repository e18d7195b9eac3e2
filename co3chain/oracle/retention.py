"""Retention of the oracle queue: raw bodies and exact coordinates live only as long as disputes need them.

Why a retention period at all (GDPR Art. 5(1)(c)/(e)): a check-in body holds the citizen's exact GPS fix and
device signature; once an event is final (``confirmed`` on chain, or ``rejected``) nothing in the pipeline
reads it again, but a citizen or a PA may still contest the outcome for a while.  After
``retention_days`` (default 30) past finality the job below keeps only what audits and rate limits need:

* kept — state, attestation id, subject, activity, area, kind, observation time, the stored attestation and
  signatures (exactly what went on chain), the evidence digest and salt (so a later dispute can still check
  the on-chain commitment against evidence the citizen presents), and the derived location facts
  (``geo_inside``: inside the geofence yes/no; ``geo_cell``: H3 cell at the area's resolution);
* removed — the raw request body (coordinates, accuracy, device signature, URL), the source's HMAC over it,
  and the coordinates quoted in rejection reasons.

Erasure on request (:mod:`co3chain.privacy`) goes further and also removes salt, digest and cell.

The job is idempotent and batched.  ``co3chain oracle run`` runs it in its worker every
``[privacy] retention_interval`` seconds (default hourly; 0 turns the background job off), and
``co3chain privacy retention --config oracle.toml`` runs it once (cron, or after changing the period).  The
period is ``[privacy] retention_days`` in ``oracle.toml`` (default 30) or ``--days``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from co3chain.errors import Co3Error
from co3chain.oracle.store import QueueStore

DAY = 86_400
DEFAULT_RETENTION_DAYS = 30.0
DEFAULT_RETENTION_INTERVAL = 3600.0


@dataclass(frozen=True)
class RetentionConfig:
    """``[privacy]`` of ``oracle.toml``."""

    retention_days: float = DEFAULT_RETENTION_DAYS
    retention_interval: float = DEFAULT_RETENTION_INTERVAL  # seconds between background runs; 0: never

    @classmethod
    def from_table(cls, table: dict[str, object], where: str = "[privacy]") -> RetentionConfig:
        # time_resolution shares the table but is the signer's setting (parsed by co3chain.oracle.config).
        unknown = set(table) - {"retention_days", "retention_interval", "time_resolution"}
        if unknown:
            raise Co3Error(f"{where}: unknown keys {sorted(unknown)}")
        values = {k: table.get(k, getattr(cls, k)) for k in ("retention_days", "retention_interval")}
        for key, value in values.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise Co3Error(f"{where} {key} must be a number ≥ 0")
        return cls(float(values["retention_days"]), float(values["retention_interval"]))


class RetentionSchedule:
    """Runs :func:`apply_retention` from the oracle worker at most once per ``interval_s``."""

    def __init__(self, store: QueueStore, config: RetentionConfig) -> None:
        self.store = store
        self.config = config
        self._last: float | None = None

    def maybe_run(self, now: float) -> int:
        """Redact what is due when the interval has passed (the first call always runs); returns the count."""
        if self.config.retention_interval <= 0:
            return 0
        if self._last is not None and now - self._last < self.config.retention_interval:
            return 0
        self._last = now
        return len(apply_retention(self.store, now, self.config.retention_days).redacted)


@dataclass(frozen=True)
class RetentionReport:
    """Outcome of one run: which rows lost their raw data, and the finality cutoff used."""

    cutoff: float
    redacted: list[str]

    def to_json(self) -> dict[str, object]:
        return {"cutoff": self.cutoff, "redacted": len(self.redacted), "attestation_ids": self.redacted}


def apply_retention(store: QueueStore, now: float, retention_days: float = DEFAULT_RETENTION_DAYS,
                    batch: int = 1000) -> RetentionReport:
    """Redact every event final for longer than ``retention_days`` (in batches, each its own transaction)."""
    if retention_days < 0:
        raise Co3Error("retention must be zero or more days")
    cutoff = now - retention_days * DAY
    redacted: list[str] = []
    while True:
        done = store.redact_final(cutoff, now, batch)
        redacted += done
        if len(done) < batch:
            return RetentionReport(cutoff, redacted)


def retention_days_of(config_path: str | Path) -> float:
    """``[privacy] retention_days`` of an ``oracle.toml`` (the default when the table or key is absent)."""
    try:
        data = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise Co3Error(f"cannot read {config_path}: {exc}") from exc
    table = data.get("privacy", {})
    if not isinstance(table, dict):
        raise Co3Error(f"{config_path}: [privacy] must be a table")
    return RetentionConfig.from_table(table, f"{config_path}: [privacy]").retention_days
