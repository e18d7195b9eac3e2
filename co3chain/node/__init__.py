"""Node assembly: configuration, tx pool, block production, lifecycle and the ``node``/``network`` CLI."""
