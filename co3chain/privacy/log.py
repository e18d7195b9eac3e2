"""Accountability log of privacy requests (GDPR Art. 5(2), 30): who exported or erased what, and when.

Why both a logger and an append-only JSON-lines file: the logger reaches the operator's normal log pipeline;
the file is the register a DPO keeps.  Entries name the citizen address (the request is about it) and counts,
never the exported data itself.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("co3chain.privacy")


def record_request(action: str, citizen: str, actor: str, outcome: dict[str, Any],
                   path: str | Path | None = None, now: float | None = None) -> dict[str, Any]:
    """Log one request; append it durably to ``path`` (a JSON-lines file) when given.  Returns the entry."""
    entry = {"at": time.time() if now is None else now, "action": action, "citizen": citizen, "actor": actor,
             "outcome": outcome}
    log.warning("privacy %s of %s by %s: %s", action, citizen, actor, json.dumps(outcome, sort_keys=True))
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return entry
