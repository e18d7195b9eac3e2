"""Shared entry logic of ``scripts/deploy.py`` and ``scripts/demo.py`` (brownie-style ``main()``).

Why in the package: both scripts run either under ``brownie run`` (brownie's own virtualenv, where only
the standard library is safe to import before brownie has set up its environment) or as plain Python in
the project's environment, and must decide which the same way and fail with the same one-line error.
"""

from __future__ import annotations

import sys
from typing import Any


def in_brownie() -> bool:
    """True when run by ``brownie run`` (brownie imported and connected to a network)."""
    if "brownie" not in sys.modules:
        return False
    from brownie import network

    return bool(network.is_connected())


def run_cli(command: Any, prog_name: str) -> None:
    """Run the click ``command`` on ``sys.argv`` as the co3chain CLI would (one-line error, exit 1)."""
    from co3chain.errors import Co3Error

    try:
        command.main(args=sys.argv[1:], prog_name=prog_name, standalone_mode=True)
    except Co3Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
