"""``co3chain compile`` (and, in deploy_cli, ``deploy`` / ``demo``): the contract suite from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from co3chain.contracts import compiler


@click.command("compile")
@click.option("--check", is_flag=True, help="Do not write; fail if the committed artifacts differ from a fresh compile.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def compile_cmd(check: bool, as_json: bool) -> None:
    """Compile contracts/ with the pinned solcjs into co3chain/contracts/artifacts/."""
    result = compiler.compile_project()
    if check:
        expected = compiler.render_artifacts(result)
        actual = {
            p.name: p.read_text(encoding="utf-8") for p in compiler.ARTIFACTS_DIR.glob("*.json")
        }
        differing = sorted(n for n in expected.keys() | actual.keys() if expected.get(n) != actual.get(n))
        if differing:
            raise compiler.CompilerError(
                "committed artifacts differ from a fresh compile: " + ", ".join(differing) + " (run `co3chain compile`)"
            )
        summary = {"status": "up-to-date", "contracts": sorted(result.artifacts)}
    else:
        written = compiler.write_artifacts(result)
        summary = {"status": "written", "contracts": sorted(result.artifacts), "files": [str(p) for p in written]}
    summary["compiler"] = result.build_info["compiler"]["longVersion"]
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"solc {summary['compiler']} (evm {compiler.COMPILER_SETTINGS['evmVersion']}, optimizer runs "
               f"{compiler.COMPILER_SETTINGS['optimizer']['runs']}): {len(result.artifacts)} contracts {summary['status']}")
    for name in sorted(result.artifacts):
        art = result.artifacts[name]
        size = (len(art["deployedBytecode"]) - 2) // 2
        click.echo(f"  {name:<24} {size:>6} bytes  {Path(art['sourceName'])}")
