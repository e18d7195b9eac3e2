"""Artifacts for tests and development: the committed ones when fresh, else a cached compile.

Why: contract tests must run against the sources as they are in the working tree, but compiling the whole
suite on every run is slow and couples unrelated contracts (one broken file would fail every test).
So a stale artifact is recompiled from its own file only, with the solcjs output cached on disk.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from co3chain.contracts import compiler


@cache
def _fresh() -> bool:
    return compiler.artifacts_are_fresh()


def _unit_for(name: str) -> str:
    matches = [u for u in compiler.project_units() if u.rsplit("/", 1)[-1] == f"{name}.sol"]
    if len(matches) != 1:
        raise compiler.CompilerError(f"expected exactly one contracts/**/{name}.sol, found {matches}")
    return matches[0]


@cache
def artifact(name: str) -> dict[str, Any]:
    """The artifact of contract ``name`` built from the current working-tree sources."""
    if _fresh():
        return compiler.load_artifact(name)
    result = compiler.compile_units([_unit_for(name)])
    if name not in result.artifacts:
        raise compiler.CompilerError(f"{name} compiled to no deployable contract")
    return result.artifacts[name]
