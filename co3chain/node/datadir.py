"""Data-directory format version: an older binary must never open (and corrupt) a newer database.

Why a separate file: the database layout (key prefixes, encodings) can change between releases; RocksDB
would open a newer layout without complaint and the old code would misread it. ``FORMAT`` holds one JSON
object ``{"format": N, "writtenBy": "co3chain x.y"}``; a binary refuses a format above
:data:`DATA_FORMAT`, and upgrades older ones in :func:`ensure_data_format` (one migration per step, none
needed yet). A database created before the file existed is format 1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from co3chain import __version__
from co3chain.errors import Co3Error

#: The layout this binary reads and writes.
DATA_FORMAT = 1
FORMAT_FILE = "FORMAT"


class DataFormatError(Co3Error):
    """The data directory was written in a format this binary cannot open."""


def read_data_format(data_dir: Path) -> int | None:
    """The recorded format (``1`` for a pre-versioning database, ``None`` for a new directory)."""
    path = Path(data_dir) / FORMAT_FILE
    if not path.exists():
        return 1 if (Path(data_dir) / "chaindb" / "CURRENT").exists() else None  # RocksDB writes CURRENT
    try:
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
        version = int(doc["format"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataFormatError(f"{path} is unreadable ({exc}); restore the data directory from a backup") from None
    return version


def check_supported(version: int, where: str) -> None:
    if version > DATA_FORMAT:
        raise DataFormatError(
            f"{where} uses data format {version}, this co3chain {__version__} reads up to format {DATA_FORMAT}: "
            "upgrade co3chain (downgrading a node needs a backup made by the older version)"
        )
    if version < 1:
        raise DataFormatError(f"{where} has an invalid data format {version}")


def write_data_format(data_dir: Path, version: int = DATA_FORMAT) -> None:
    path = Path(data_dir) / FORMAT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"format": version, "writtenBy": f"co3chain {__version__}"}) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def ensure_data_format(data_dir: Path) -> int:
    """Before opening the database: refuse a newer format, stamp a new or legacy directory."""
    data_dir = Path(data_dir)
    version = read_data_format(data_dir)
    if version is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        write_data_format(data_dir)
        return DATA_FORMAT
    check_supported(version, f"data directory {data_dir}")
    if version < DATA_FORMAT or not (data_dir / FORMAT_FILE).exists():  # pragma: no branch - no migration yet
        write_data_format(data_dir)
    return DATA_FORMAT
