"""Bearer token and PagerDuty v1 signature checks."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from bot.intake.auth import (
    HeaderVerdict,
    bearer_ok,
    check_headers,
    grafana_signature_ok,
    is_authenticated,
    pagerduty_signature_ok,
)
from bot.intake.sources import AuthScheme
from bot.settings import Settings

BODY = b'{"event":{"event_type":"incident.triggered"}}'
SECRET = SecretStr("whsec-abc")


def sign(body: bytes, secret: str) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_bearer() -> None:
    token = SecretStr("s3cret")
    assert bearer_ok("Bearer s3cret", token)
    assert bearer_ok("bearer  s3cret ", token)
    assert not bearer_ok("Bearer s3cret2", token)
    assert not bearer_ok("Basic s3cret", token)
    assert not bearer_ok("s3cret", token)
    assert not bearer_ok(None, token)
    assert not bearer_ok("Bearer ", SecretStr(""))
    assert not bearer_ok("Bearer s3cret", None), "no configured token accepts nothing"


def test_pagerduty_signature_single_and_rotated() -> None:
    good = sign(BODY, "whsec-abc")
    assert pagerduty_signature_ok(good, BODY, SECRET)
    assert pagerduty_signature_ok(good.upper().replace("V1=", "v1="), BODY, SECRET), "hex case does not matter"
    assert pagerduty_signature_ok(f"{sign(BODY, 'old')}, {good}", BODY, SECRET)
    assert not pagerduty_signature_ok(sign(BODY, "old"), BODY, SECRET)
    assert not pagerduty_signature_ok(good, BODY + b" ", SECRET)
    assert not pagerduty_signature_ok(good.replace("v1=", "v0="), BODY, SECRET)
    assert not pagerduty_signature_ok(None, BODY, SECRET)
    assert not pagerduty_signature_ok(good, BODY, None)


def test_is_authenticated_by_scheme() -> None:
    settings = Settings(webhook_token=SecretStr("tok"), pagerduty_webhook_secret=SECRET)
    signed = {"X-PagerDuty-Signature": sign(BODY, "whsec-abc")}
    assert is_authenticated(AuthScheme.PAGERDUTY_SIGNATURE, signed, BODY, settings)
    assert is_authenticated(AuthScheme.PAGERDUTY_SIGNATURE, {"Authorization": "Bearer tok"}, BODY, settings)
    assert not is_authenticated(AuthScheme.BEARER, signed, BODY, settings), "a signature is only for its source"
    assert is_authenticated(AuthScheme.BEARER, {"Authorization": "Bearer tok"}, BODY, settings)
    assert not is_authenticated(AuthScheme.BEARER, {}, BODY, settings)


def test_headers_alone_decide_unless_a_signature_needs_the_body() -> None:
    settings = Settings(webhook_token=SecretStr("tok"), pagerduty_webhook_secret=SECRET)
    no_secret = Settings(webhook_token=SecretStr("tok"))
    bearer = {"Authorization": "Bearer tok"}
    signed = {"X-PagerDuty-Signature": "v1=00"}
    assert check_headers(AuthScheme.BEARER, bearer, settings) is HeaderVerdict.ACCEPTED
    assert check_headers(AuthScheme.PAGERDUTY_SIGNATURE, bearer, settings) is HeaderVerdict.ACCEPTED
    assert check_headers(AuthScheme.PAGERDUTY_SIGNATURE, signed, settings) is HeaderVerdict.NEEDS_BODY
    # A signature header where no signature counts, or with no secret to check it: refused before the body.
    assert check_headers(AuthScheme.BEARER, signed, settings) is HeaderVerdict.REFUSED
    assert check_headers(AuthScheme.PAGERDUTY_SIGNATURE, signed, no_secret) is HeaderVerdict.REFUSED
    assert check_headers(AuthScheme.BEARER, {"Authorization": "Bearer nope"}, settings) is HeaderVerdict.REFUSED
    assert check_headers(AuthScheme.PAGERDUTY_SIGNATURE, {}, settings) is HeaderVerdict.REFUSED


GRAFANA_SECRET = SecretStr("grafana-hmac")
NOW = 1_764_250_000.0


def grafana_sign(body: bytes, secret: str, timestamp: str | None = None) -> str:
    signed = body if timestamp is None else timestamp.encode() + b":" + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def test_grafana_signature_over_the_body() -> None:
    good = grafana_sign(BODY, "grafana-hmac")
    ok = {"now": NOW, "max_age_s": 300.0}
    assert grafana_signature_ok(good, None, BODY, GRAFANA_SECRET, **ok)
    assert grafana_signature_ok(good.upper(), None, BODY, GRAFANA_SECRET, **ok), "hex case does not matter"
    assert not grafana_signature_ok("sha256=" + good, None, BODY, GRAFANA_SECRET, **ok), "Grafana sends bare hex"
    assert not grafana_signature_ok(good, None, BODY + b" ", GRAFANA_SECRET, **ok)
    assert not grafana_signature_ok(grafana_sign(BODY, "other"), None, BODY, GRAFANA_SECRET, **ok)
    assert not grafana_signature_ok(good, None, BODY, None, **ok)
    assert not grafana_signature_ok(None, None, BODY, GRAFANA_SECRET, **ok)


def test_grafana_signature_with_a_timestamp_covers_it_and_ages() -> None:
    stamp = str(int(NOW) - 60)
    good = grafana_sign(BODY, "grafana-hmac", stamp)
    assert grafana_signature_ok(good, stamp, BODY, GRAFANA_SECRET, now=NOW, max_age_s=300)
    assert not grafana_signature_ok(good, str(int(stamp) + 1), BODY, GRAFANA_SECRET, now=NOW, max_age_s=300)
    assert not grafana_signature_ok(good, None, BODY, GRAFANA_SECRET, now=NOW, max_age_s=300), "stamp was signed"
    assert not grafana_signature_ok(good, stamp, BODY, GRAFANA_SECRET, now=NOW + 360, max_age_s=300), "too old"
    assert not grafana_signature_ok(good, stamp, BODY, GRAFANA_SECRET, now=NOW - 400, max_age_s=300), "future"
    assert not grafana_signature_ok(good, "yesterday", BODY, GRAFANA_SECRET, now=NOW, max_age_s=300)


def test_grafana_signature_by_scheme_and_headers() -> None:
    settings = Settings(webhook_token=SecretStr("tok"), grafana_webhook_secret=GRAFANA_SECRET)
    stamp = str(int(NOW))
    signed = {
        "X-Grafana-Alerting-Signature": grafana_sign(BODY, "grafana-hmac", stamp),
        "X-Grafana-Alerting-Signature-Timestamp": stamp,
    }
    assert is_authenticated(AuthScheme.GRAFANA_SIGNATURE, signed, BODY, settings, now=NOW)
    assert not is_authenticated(AuthScheme.GRAFANA_SIGNATURE, signed, BODY, settings, now=NOW + 301)
    assert not is_authenticated(AuthScheme.BEARER, signed, BODY, settings, now=NOW)
    assert is_authenticated(AuthScheme.GRAFANA_SIGNATURE, {"Authorization": "Bearer tok"}, BODY, settings)
    assert check_headers(AuthScheme.GRAFANA_SIGNATURE, signed, settings) is HeaderVerdict.NEEDS_BODY
    assert check_headers(AuthScheme.PAGERDUTY_SIGNATURE, signed, settings) is HeaderVerdict.REFUSED
    no_secret = Settings(webhook_token=SecretStr("tok"))
    assert check_headers(AuthScheme.GRAFANA_SIGNATURE, signed, no_secret) is HeaderVerdict.REFUSED
    renamed = Settings(grafana_webhook_secret=GRAFANA_SECRET, grafana_signature_header="X-Sig")
    assert check_headers(AuthScheme.GRAFANA_SIGNATURE, {"X-Sig": "00"}, renamed) is HeaderVerdict.NEEDS_BODY
