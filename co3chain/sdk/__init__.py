"""Python SDK of the co3chain HTTP API: ``from co3chain.sdk import Client``."""

from co3chain.sdk.client import ApiClientError, Client

__all__ = ["ApiClientError", "Client"]
