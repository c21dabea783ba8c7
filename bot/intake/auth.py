"""Webhook authentication: the bearer token or a source's HMAC signature, compared in constant time."""
# Grafana's HMAC: hex HMAC-SHA256 of the body, or of `<timestamp>:<body>` when Grafana is told to send a
# timestamp header (Unix seconds); the header names are the contact point's, configurable here too.

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from enum import StrEnum

from pydantic import SecretStr

from bot.intake.sources import AuthScheme
from bot.settings import Settings

PAGERDUTY_SIGNATURE_HEADER = "X-PagerDuty-Signature"
PAGERDUTY_SIGNATURE_VERSION = "v1="


def bearer_ok(authorization: str | None, token: SecretStr | None) -> bool:
    """True when the header is `Bearer <token>`; no configured token means no bearer is accepted."""
    if not authorization or token is None or not token.get_secret_value():
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode())


def pagerduty_signature_ok(header: str | None, body: bytes, secret: SecretStr | None) -> bool:
    """True when any `v1=<hex>` signature in the header is the HMAC-SHA256 of the body."""
    if not header or secret is None or not secret.get_secret_value():
        return False
    expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest().encode()
    matched = False
    # PagerDuty lists several signatures while a secret is being rotated; check every one.
    for part in header.split(","):
        part = part.strip()
        if part.startswith(PAGERDUTY_SIGNATURE_VERSION):
            given = part[len(PAGERDUTY_SIGNATURE_VERSION) :].lower().encode()
            matched |= hmac.compare_digest(given, expected)
    return matched


def grafana_signature_ok(
    header: str | None,
    timestamp: str | None,
    body: bytes,
    secret: SecretStr | None,
    *,
    now: float,
    max_age_s: float,
) -> bool:
    """True when the header is the hex HMAC-SHA256 of the body (of `timestamp:body` with a timestamp).

    A timestamp further than `max_age_s` from `now` (either way) fails, so a captured request
    cannot be replayed later.
    """
    if not header or secret is None or not secret.get_secret_value():
        return False
    signed = body
    if timestamp:
        try:
            stamp = int(timestamp.strip())
        except ValueError:
            return False
        if abs(now - stamp) > max_age_s:
            return False
        signed = timestamp.strip().encode() + b":" + body
    expected = hmac.new(secret.get_secret_value().encode(), signed, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(header.strip().lower().encode(), expected)


def is_authenticated(
    scheme: AuthScheme, headers: Mapping[str, str], body: bytes, settings: Settings, now: float | None = None
) -> bool:
    """Whether the request proves it comes from the source, by that source's scheme (`now`: Unix seconds)."""
    if bearer_ok(headers.get("Authorization"), settings.webhook_token):
        return True
    if scheme is AuthScheme.PAGERDUTY_SIGNATURE:
        return pagerduty_signature_ok(headers.get(PAGERDUTY_SIGNATURE_HEADER), body, settings.pagerduty_webhook_secret)
    if scheme is AuthScheme.GRAFANA_SIGNATURE:
        return grafana_signature_ok(
            headers.get(settings.grafana_signature_header),
            headers.get(settings.grafana_timestamp_header),
            body,
            settings.grafana_webhook_secret,
            now=time.time() if now is None else now,
            max_age_s=settings.grafana_signature_max_age_s,
        )
    return False


class HeaderVerdict(StrEnum):
    """What the headers alone say about a request, before a byte of its body is read."""

    ACCEPTED = "accepted"  # a valid bearer token
    NEEDS_BODY = "needs-body"  # a signature header: only the body can prove it
    REFUSED = "refused"  # nothing that could prove it: answer 401 without reading the body


def check_headers(scheme: AuthScheme, headers: Mapping[str, str], settings: Settings) -> HeaderVerdict:
    """Judge a request by its headers, so an unauthenticated body is never read."""
    if bearer_ok(headers.get("Authorization"), settings.webhook_token):
        return HeaderVerdict.ACCEPTED
    if scheme is AuthScheme.PAGERDUTY_SIGNATURE and headers.get(PAGERDUTY_SIGNATURE_HEADER):
        secret = settings.pagerduty_webhook_secret
        if secret is not None and secret.get_secret_value():
            return HeaderVerdict.NEEDS_BODY
    if scheme is AuthScheme.GRAFANA_SIGNATURE and headers.get(settings.grafana_signature_header):
        secret = settings.grafana_webhook_secret
        if secret is not None and secret.get_secret_value():
            return HeaderVerdict.NEEDS_BODY
    return HeaderVerdict.REFUSED
