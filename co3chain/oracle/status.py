"""``co3chain oracle status`` report, shared by the CLI (reading the queue file) and ``GET /status``."""

from __future__ import annotations

from typing import Any

from co3chain.oracle.store import ACCEPTED_STATES, QueueStore


def status_report(store: QueueStore) -> dict[str, Any]:
    """Queue depth per state, accepted / rejected totals and the last block with a confirmed attestation."""
    counts = store.counts_by_state()
    return {
        "queue": counts,
        "accepted": sum(counts[s] for s in ACCEPTED_STATES),
        "rejected": counts["rejected"],
        "pending": counts["received"] + counts["validated"] + counts["signed"] + counts["submitted"],
        "last_confirmed_block": store.last_confirmed_block(),
    }


def format_status(report: dict[str, Any]) -> str:
    """Human-readable multi-line form of :func:`status_report`."""
    lines = ["oracle queue:"]
    lines += [f"  {state:<10} {count}" for state, count in report["queue"].items()]
    lines.append(f"accepted {report['accepted']}, rejected {report['rejected']}, pending {report['pending']}")
    block = report["last_confirmed_block"]
    lines.append(f"last confirmed block: {'-' if block is None else block}")
    return "\n".join(lines)
