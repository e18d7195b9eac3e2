"""``python -m co3chain.oracle …``: the oracle commands without the root CLI (used by tests and services)."""

from co3chain.errors import Co3Error
from co3chain.oracle.cli import oracle


def main() -> None:
    try:
        oracle.main(prog_name="co3chain oracle", standalone_mode=False)
    except Co3Error as exc:
        import sys

        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        raise


if __name__ == "__main__":
    main()
