"""The one exception type whose message is shown to users as-is.

Why: the CLI turns any ``Co3Error`` into a single readable line on stderr and a non-zero exit code,
while unexpected exceptions keep their traceback for bug reports.
"""


class Co3Error(Exception):
    """An error caused by input or environment, with a message meant for the user."""
