"""co3chain: a permissioned EVM blockchain for public-administration consortia and their citizens."""

__version__ = "0.1.0"
