"""Route modules of ``/v1``: reads, relay (citizens' signed actions), PA writes, event stream, oracle."""
