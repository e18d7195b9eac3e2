"""The ``co3chain`` command line: one root group, subcommands contributed by each package.

Why the lazy registration: each package owns its own ``cli.py``; a package whose optional dependencies are
broken must not take the whole CLI down, and ``co3chain --help`` must stay fast.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from co3chain import __version__
from co3chain.errors import Co3Error

#: (module, attribute) of every subcommand, in the order ``--help`` lists them.
SUBCOMMANDS: list[tuple[str, str]] = [
    ("co3chain.contracts.cli", "compile_cmd"),
    ("co3chain.contracts.cli", "deploy_cmd"),
    ("co3chain.contracts.cli", "demo_cmd"),
    ("co3chain.node.cli", "network"),
    ("co3chain.node.cli", "node"),
    ("co3chain.node.cli", "validators"),
    ("co3chain.node.accounts_cli", "accounts"),
    ("co3chain.oracle.cli", "oracle"),
    ("co3chain.api.cli", "api"),
    ("co3chain.audit.cli", "audit"),
    ("co3chain.privacy.cli", "privacy"),
    ("co3chain.sdk.ops_cli", "ops"),
    ("co3chain.sdk.electorate_cli", "electorate"),
    ("co3chain.recovery.cli", "recovery"),
    ("co3chain.budget.cli", "budget"),
    ("co3chain.initiative.cli", "initiative"),
    ("co3chain.ballot.cli", "trustee"),
    ("co3chain.ballot.cli", "ballot"),
    ("co3chain.delegation.cli", "delegation"),
]


class Co3Group(click.Group):
    """Root group that turns :class:`Co3Error` into one readable line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Co3Error as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=Co3Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="co3chain")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """co3chain: permissioned EVM chain for PA consortia and citizens (CO3 commoning areas)."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _register() -> None:
    for module_name, attr in SUBCOMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("co3chain"):
                continue  # that part of co3chain is not installed in this build
            raise
        command = getattr(module, attr, None)
        if isinstance(command, click.Command):
            cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="co3chain")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
