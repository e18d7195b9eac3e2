"""Solidity compiler driver: standard-JSON through the pinned solcjs from npm.

Why standard-JSON with inlined sources: the import graph is resolved here in Python, every source is
passed by content, so the compiler never touches the filesystem (solcjs rejects ``--allow-paths``) and
the recorded input is exactly what an auditor needs to reproduce the bytecode.  Artifacts are written
into the Python package so that everything downstream (deploy, node tests, API, audit) works without
Node.js; a test recompiles and checks the committed artifacts byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak

from co3chain.errors import Co3Error

PACKAGE_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = PACKAGE_DIR / "artifacts"
BUILD_INFO_NAME = "build-info.json"
REPO_ROOT = PACKAGE_DIR.parent.parent

#: Compiler settings recorded in every artifact and in the deployment manifest.
COMPILER_SETTINGS: dict[str, Any] = {
    "evmVersion": "cancun",
    "optimizer": {"enabled": True, "runs": 200},
    "viaIR": False,
    "metadata": {"bytecodeHash": "ipfs"},
    "remappings": [],
}
OUTPUT_SELECTION = {
    "*": {
        "*": [
            "abi",
            "metadata",
            "evm.bytecode.object",
            "evm.bytecode.linkReferences",
            "evm.deployedBytecode.object",
            "evm.deployedBytecode.immutableReferences",
            "evm.methodIdentifiers",
        ]
    }
}

_IMPORT_RE = re.compile(r"""^\s*import\s+(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']\s*;""", re.MULTILINE)


class CompilerError(Co3Error):
    """The Solidity sources do not compile, or the compiler cannot be run."""


@dataclass(frozen=True)
class BuildResult:
    """What one compilation produced: per-contract artifacts and the build info that reproduces them."""

    artifacts: dict[str, dict[str, Any]]
    build_info: dict[str, Any]


def _node_modules(root: Path) -> Path:
    return root / "node_modules"


def solcjs_path(root: Path = REPO_ROOT) -> Path:
    """Location of the solcjs package installed by ``npm ci``."""
    path = _node_modules(root) / "solc" / "package.json"
    if not path.exists():
        raise CompilerError(f"solcjs not found at {path}: run `npm ci` in {root}")
    return path


def solc_version(root: Path = REPO_ROOT) -> str:
    """The pinned npm ``solc`` package version (e.g. ``0.8.30``)."""
    pkg = json.loads((_node_modules(root) / "solc" / "package.json").read_text())
    return str(pkg["version"])


def _resolve_import(importer: str, target: str) -> str:
    """Source unit name of ``target`` imported from the source unit ``importer``."""
    if target.startswith("./") or target.startswith("../"):
        parts = importer.split("/")[:-1]
        for piece in target.split("/"):
            if piece == "..":
                if not parts:
                    raise CompilerError(f"{importer}: import {target!r} escapes the source tree")
                parts.pop()
            elif piece != ".":
                parts.append(piece)
        return "/".join(parts)
    return target


def _read_source(root: Path, unit: str) -> str:
    candidates = [root / unit] if unit.startswith("contracts/") else [_node_modules(root) / unit, root / unit]
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise CompilerError(f"cannot find Solidity source {unit!r} (looked in {', '.join(map(str, candidates))})")


def collect_sources(root: Path, entry_units: list[str]) -> dict[str, str]:
    """Read ``entry_units`` and everything they import, transitively, keyed by source unit name."""
    sources: dict[str, str] = {}
    pending = list(entry_units)
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        text = _read_source(root, unit)
        sources[unit] = text
        pending.extend(_resolve_import(unit, target) for target in _IMPORT_RE.findall(text))
    return dict(sorted(sources.items()))


def project_units(root: Path = REPO_ROOT) -> list[str]:
    """All Solidity files of the project under ``contracts/``, as source unit names."""
    return sorted(p.relative_to(root).as_posix() for p in (root / "contracts").rglob("*.sol"))


def standard_json_input(sources: dict[str, str]) -> dict[str, Any]:
    """The exact compiler input: sources inlined by content plus the pinned settings."""
    return {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sources.items()},
        "settings": {**COMPILER_SETTINGS, "outputSelection": OUTPUT_SELECTION},
    }


def _cache_dir() -> Path:
    base = os.environ.get("CO3CHAIN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "co3chain")
    return Path(base) / "solc"


def run_solcjs(compiler_input: dict[str, Any], root: Path = REPO_ROOT) -> dict[str, Any]:
    """Run solcjs in standard-JSON mode, with an on-disk cache keyed by input and compiler version."""
    payload = json.dumps(compiler_input, sort_keys=True).encode()
    key = hashlib.sha256(payload + solc_version(root).encode()).hexdigest()
    cached = _cache_dir() / f"{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    node = shutil.which("node")
    if node is None:
        raise CompilerError("node (Node.js) is not on PATH: it is needed to run the pinned solcjs compiler")
    solcjs_path(root)  # a clear error when npm ci has not run
    with tempfile.TemporaryDirectory(prefix="co3solc-") as tmp:
        in_path, out_path = Path(tmp) / "input.json", Path(tmp) / "output.json"
        in_path.write_bytes(payload)
        proc = subprocess.run(
            [node, str(PACKAGE_DIR / "solc_runner.cjs"), str(_node_modules(root)), str(in_path), str(out_path)],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0 or not out_path.exists():
            err = proc.stderr.decode("utf-8", errors="replace").strip()
            raise CompilerError(f"solcjs failed (exit {proc.returncode}): {err[-800:]}")
        output = json.loads(out_path.read_text(encoding="utf-8"))
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilerError("\n".join(e.get("formattedMessage", e.get("message", "?")).strip() for e in errors))
    cached.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(cached, json.dumps(output))
    return output


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def source_hash(text: str) -> str:
    """keccak256 of a source file's bytes, as recorded in Solidity metadata."""
    return "0x" + keccak(text.encode("utf-8")).hex()


def compile_units(entry_units: list[str], root: Path = REPO_ROOT) -> BuildResult:
    """Compile the given project files (and their imports); artifacts only for project contracts."""
    sources = collect_sources(root, entry_units)
    compiler_input = standard_json_input(sources)
    output = run_solcjs(compiler_input, root)
    artifacts: dict[str, dict[str, Any]] = {}
    for unit, contracts in sorted(output.get("contracts", {}).items()):
        if not unit.startswith("contracts/"):
            continue
        for name, data in sorted(contracts.items()):
            bytecode = data["evm"]["bytecode"]["object"]
            if not bytecode:
                continue  # interfaces and abstract contracts
            if name in artifacts:
                raise CompilerError(f"two project contracts are named {name}: names must be unique")
            artifacts[name] = {
                "contractName": name,
                "sourceName": unit,
                "abi": data["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "immutableReferences": data["evm"]["deployedBytecode"].get("immutableReferences", {}),
                "linkReferences": data["evm"]["bytecode"].get("linkReferences", {}),
                "methodIdentifiers": data["evm"].get("methodIdentifiers", {}),
                "metadata": data["metadata"],
                "compiler": {"version": solc_version(root), "settings": COMPILER_SETTINGS},
            }
    build_info = {
        "compiler": {
            "name": "solcjs",
            "version": solc_version(root),
            "longVersion": json.loads(artifacts[next(iter(artifacts))]["metadata"])["compiler"]["version"]
            if artifacts
            else None,
            "settings": COMPILER_SETTINGS,
        },
        "sources": {unit: source_hash(text) for unit, text in sources.items()},
        "contracts": {name: art["sourceName"] for name, art in artifacts.items()},
    }
    return BuildResult(artifacts=artifacts, build_info=build_info)


def compile_project(root: Path = REPO_ROOT) -> BuildResult:
    """Compile every Solidity file under ``contracts/`` in one standard-JSON run."""
    units = project_units(root)
    if not units:
        raise CompilerError(f"no Solidity sources under {root / 'contracts'}")
    return compile_units(units, root)


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True) + "\n"


def write_artifacts(result: BuildResult, out_dir: Path = ARTIFACTS_DIR) -> list[Path]:
    """Write one JSON file per contract plus build-info.json, removing artifacts of deleted contracts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, art in result.artifacts.items():
        path = out_dir / f"{name}.json"
        _atomic_write(path, _dump(art))
        written.append(path)
    info = out_dir / BUILD_INFO_NAME
    _atomic_write(info, _dump(result.build_info))
    written.append(info)
    keep = {p.name for p in written}
    for stale in out_dir.glob("*.json"):
        if stale.name not in keep:
            stale.unlink()
    return written


def render_artifacts(result: BuildResult) -> dict[str, str]:
    """File name → exact text that :func:`write_artifacts` would write (for reproducibility checks)."""
    files = {f"{name}.json": _dump(art) for name, art in result.artifacts.items()}
    files[BUILD_INFO_NAME] = _dump(result.build_info)
    return files


def load_build_info(artifacts_dir: Path = ARTIFACTS_DIR) -> dict[str, Any]:
    """The committed build info (compiler version, settings, source hashes)."""
    path = artifacts_dir / BUILD_INFO_NAME
    if not path.exists():
        raise CompilerError(f"no compiled artifacts at {artifacts_dir}: run `co3chain compile`")
    return json.loads(path.read_text())


def load_artifact(name: str, artifacts_dir: Path = ARTIFACTS_DIR) -> dict[str, Any]:
    """A compiled contract's artifact (``abi``, ``bytecode``, ``deployedBytecode``, ``metadata``...)."""
    path = artifacts_dir / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in artifacts_dir.glob("*.json") if p.name != BUILD_INFO_NAME)
        raise CompilerError(f"unknown contract {name!r}; compiled contracts: {', '.join(known) or 'none'}")
    return json.loads(path.read_text())


def artifacts_are_fresh(root: Path = REPO_ROOT, artifacts_dir: Path = ARTIFACTS_DIR) -> bool:
    """True when the committed artifacts were built from the project sources as they are now."""
    try:
        recorded = load_build_info(artifacts_dir)["sources"]
    except CompilerError:
        return False
    current = {u: source_hash((root / u).read_text(encoding="utf-8")) for u in project_units(root)}
    return all(recorded.get(u) == h for u, h in current.items())
