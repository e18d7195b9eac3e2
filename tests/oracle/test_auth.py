"""HMAC webhook authentication: valid, tampered, wrong secret, stale, unknown source."""

from __future__ import annotations

import pytest

from co3chain.errors import Co3Error
from co3chain.oracle.auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Authenticator,
    AuthError,
    Source,
    compute_signature,
    sign_headers,
)
from tests.oracle.helpers import AR, SOCIAL, T0

BODY = b'{"event_id":"x"}'


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator([AR, SOCIAL], skew_seconds=300)


def test_valid_request_is_authenticated(auth: Authenticator) -> None:
    assert auth.authenticate(sign_headers(AR, BODY, T0), BODY, now=T0 + 10) is AR


def test_header_names_are_case_insensitive(auth: Authenticator) -> None:
    headers = {k.lower(): v for k, v in sign_headers(SOCIAL, BODY, T0).items()}
    assert auth.authenticate(headers, BODY, now=T0) is SOCIAL


def test_tampered_body_is_rejected(auth: Authenticator) -> None:
    with pytest.raises(AuthError, match="bad signature"):
        auth.authenticate(sign_headers(AR, BODY, T0), BODY + b" ", now=T0)


def test_other_sources_secret_is_rejected(auth: Authenticator) -> None:
    headers = sign_headers(AR, BODY, T0)
    headers[SIGNATURE_HEADER] = compute_signature(SOCIAL.secret, T0, BODY)
    with pytest.raises(AuthError, match="bad signature"):
        auth.authenticate(headers, BODY, now=T0)


def test_changed_timestamp_invalidates_signature(auth: Authenticator) -> None:
    headers = sign_headers(AR, BODY, T0 - 1000)
    headers[TIMESTAMP_HEADER] = str(T0)
    with pytest.raises(AuthError, match="bad signature"):
        auth.authenticate(headers, BODY, now=T0)


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_timestamp_outside_skew_window_is_rejected(auth: Authenticator, offset: int) -> None:
    with pytest.raises(AuthError, match="window"):
        auth.authenticate(sign_headers(AR, BODY, T0 + offset), BODY, now=T0)


def test_old_request_still_verifies_without_freshness(auth: Authenticator) -> None:
    """Co-signers check the HMAC of forwarded (older) requests but not their age."""
    source, ts = auth.verify_signature(sign_headers(AR, BODY, T0 - 86_400), BODY)
    assert source is AR and ts == T0 - 86_400


def test_unknown_source_and_missing_headers(auth: Authenticator) -> None:
    headers = sign_headers(Source("nobody", "ar", b"x" * 20), BODY, T0)
    with pytest.raises(AuthError, match="unknown source"):
        auth.authenticate(headers, BODY, now=T0)
    with pytest.raises(AuthError, match="missing header"):
        auth.authenticate({}, BODY, now=T0)
    bad = sign_headers(AR, BODY, T0)
    bad[TIMESTAMP_HEADER] = "12abc"
    with pytest.raises(AuthError, match="unix seconds"):
        auth.authenticate(bad, BODY, now=T0)


def test_source_config_is_checked() -> None:
    with pytest.raises(Co3Error, match="at least 16"):
        Source("s", "ar", b"short")
    with pytest.raises(Co3Error, match="kind"):
        Source("s", "tweets", b"x" * 20)
    with pytest.raises(Co3Error, match="duplicate"):
        Authenticator([AR, AR])
