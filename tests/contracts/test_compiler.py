"""The compiler driver: import resolution, clear errors, and byte-for-byte reproducible artifacts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from co3chain.contracts import compiler


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A throwaway project root sharing the real node_modules."""
    (tmp_path / "contracts" / "lib").mkdir(parents=True)
    os.symlink(compiler.REPO_ROOT / "node_modules", tmp_path / "node_modules")
    return tmp_path


def test_committed_artifacts_reproduce_byte_for_byte() -> None:
    """A fresh compile of contracts/ writes exactly the committed artifact files."""
    result = compiler.compile_project()
    expected = compiler.render_artifacts(result)
    committed = {p.name: p.read_text(encoding="utf-8") for p in compiler.ARTIFACTS_DIR.glob("*.json")}
    assert sorted(committed) == sorted(expected)
    for name, text in expected.items():
        assert committed[name] == text, f"{name} differs from a fresh compile: run `co3chain compile`"


def test_build_info_records_settings_and_source_hashes() -> None:
    info = compiler.load_build_info()
    assert info["compiler"]["version"] == compiler.solc_version()
    assert info["compiler"]["settings"]["evmVersion"] == "cancun"
    for unit in compiler.project_units():
        assert info["sources"][unit] == compiler.source_hash((compiler.REPO_ROOT / unit).read_text())
    assert any(u.startswith("@openzeppelin/contracts/") for u in info["sources"])


def test_relative_and_package_imports_are_resolved(tree: Path) -> None:
    (tree / "contracts" / "lib" / "Base.sol").write_text(
        'pragma solidity ^0.8.24;\nimport {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";\n'
        "abstract contract Base is Ownable { }\n"
    )
    (tree / "contracts" / "Thing.sol").write_text(
        'pragma solidity ^0.8.24;\nimport {Base} from "./lib/Base.sol";\nimport {Ownable} from '
        '"@openzeppelin/contracts/access/Ownable.sol";\n'
        "contract Thing is Base { constructor() Ownable(msg.sender) {} function x() external pure returns (uint256) { return 7; } }\n"
    )
    result = compiler.compile_project(tree)
    assert list(result.artifacts) == ["Thing"]  # the abstract Base has no bytecode
    art = result.artifacts["Thing"]
    assert art["sourceName"] == "contracts/Thing.sol"
    assert art["deployedBytecode"].startswith("0x") and len(art["deployedBytecode"]) > 100
    assert "contracts/lib/Base.sol" in result.build_info["sources"]
    assert "@openzeppelin/contracts/access/Ownable.sol" in result.build_info["sources"]


def test_syntax_error_is_reported_with_location(tree: Path) -> None:
    (tree / "contracts" / "Broken.sol").write_text("pragma solidity ^0.8.24;\ncontract Broken { function }\n")
    with pytest.raises(compiler.CompilerError, match="Broken.sol"):
        compiler.compile_project(tree)


def test_missing_import_is_a_clear_error(tree: Path) -> None:
    (tree / "contracts" / "A.sol").write_text('pragma solidity ^0.8.24;\nimport "./Nope.sol";\ncontract A {}\n')
    with pytest.raises(compiler.CompilerError, match="Nope.sol"):
        compiler.compile_project(tree)


def test_import_escaping_the_tree_is_rejected(tree: Path) -> None:
    (tree / "contracts" / "A.sol").write_text('pragma solidity ^0.8.24;\nimport "../../../etc/x.sol";\ncontract A {}\n')
    with pytest.raises(compiler.CompilerError, match="escapes"):
        compiler.compile_project(tree)


def test_unknown_artifact_lists_known_contracts(tmp_path: Path) -> None:
    (tmp_path / "Foo.json").write_text("{}")
    with pytest.raises(compiler.CompilerError, match="Foo"):
        compiler.load_artifact("Bar", tmp_path)


def test_write_artifacts_removes_stale_files(tree: Path, tmp_path: Path) -> None:
    (tree / "contracts" / "C.sol").write_text("pragma solidity ^0.8.24;\ncontract C { uint256 public v = 1; }\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "Gone.json").write_text("{}")
    compiler.write_artifacts(compiler.compile_project(tree), out)
    assert sorted(p.name for p in out.glob("*.json")) == ["C.json", "build-info.json"]
