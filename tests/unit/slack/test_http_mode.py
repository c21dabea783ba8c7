"""Slack request signatures (v0, five-minute window), handshakes, and how the emulator encodes and reads requests."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from bot.errors import ConfigError
from bot.sandbox.emulator.http_delivery import ack_payload, encode_request, signed_headers, slack_signature
from bot.settings import load_settings
from bot.slack.http_mode import handshake, headers_fresh, signature_ok

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_764_250_000.0
BODY = b"token=xyz&team_id=T1&command=%2Fincident&text=list"


def headers_at(stamp: float, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return signed_headers(secret, body, "application/x-www-form-urlencoded", stamp)


def test_slacks_documented_example_signature() -> None:
    # The example on Slack's "Verifying requests from Slack" page: secret, timestamp, body and signature.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert slack_signature(SECRET, "1531420618", body) == expected
    headers = {"X-Slack-Request-Timestamp": "1531420618", "X-Slack-Signature": expected}
    assert signature_ok(SECRET, body, headers, now=lambda: 1531420618 + 60)


def test_signature_must_cover_the_exact_body_with_the_right_secret() -> None:
    assert signature_ok(SECRET, BODY, headers_at(NOW), now=lambda: NOW)
    assert not signature_ok(SECRET, BODY + b"&x=1", headers_at(NOW), now=lambda: NOW)
    assert not signature_ok(SECRET, BODY.replace(b"list", b"lisT"), headers_at(NOW), now=lambda: NOW)
    assert not signature_ok(SECRET, BODY, headers_at(NOW, secret="other"), now=lambda: NOW)
    assert not signature_ok(SECRET, BODY, {}, now=lambda: NOW)


def test_timestamps_more_than_five_minutes_off_are_refused() -> None:
    assert signature_ok(SECRET, BODY, headers_at(NOW - 300), now=lambda: NOW)
    assert not signature_ok(SECRET, BODY, headers_at(NOW - 360), now=lambda: NOW), "six minutes old"
    assert not signature_ok(SECRET, BODY, headers_at(NOW + 360), now=lambda: NOW), "from the future"
    bad_stamp = {**headers_at(NOW), "X-Slack-Request-Timestamp": "soon"}
    assert not signature_ok(SECRET, BODY, bad_stamp, now=lambda: NOW)


def test_headers_alone_refuse_missing_or_stale_signatures() -> None:
    assert headers_fresh(headers_at(NOW - 300), now=lambda: NOW)
    assert not headers_fresh(headers_at(NOW - 360), now=lambda: NOW)
    assert not headers_fresh({"X-Slack-Request-Timestamp": str(int(NOW))}, now=lambda: NOW)
    assert not headers_fresh({**headers_at(NOW), "X-Slack-Request-Timestamp": "-5"}, now=lambda: NOW)


def test_handshakes() -> None:
    challenge = handshake(json.dumps({"type": "url_verification", "challenge": "abc"}).encode(), "application/json")
    assert challenge is not None and json.loads(challenge.body) == {"challenge": "abc"}  # type: ignore[arg-type]
    check = handshake(b"ssl_check=1&token=t", "application/x-www-form-urlencoded")
    assert check is not None and check.status == 200
    assert handshake(json.dumps({"type": "event_callback"}).encode(), "application/json") is None
    assert handshake(BODY, "application/x-www-form-urlencoded") is None


def test_requests_are_encoded_as_slack_sends_them() -> None:
    event, kind = encode_request("events_api", {"type": "event_callback", "event": {"type": "message"}})
    assert kind == "application/json" and json.loads(event)["type"] == "event_callback"
    command, kind = encode_request("slash_commands", {"command": "/incident", "text": 'new "a b"'})
    assert kind == "application/x-www-form-urlencoded"
    assert parse_qs(command.decode()) == {"command": ["/incident"], "text": ['new "a b"']}
    action, kind = encode_request("interactive", {"type": "block_actions", "actions": [{"action_id": "x"}]})
    assert json.loads(parse_qs(action.decode())["payload"][0])["actions"] == [{"action_id": "x"}]


def test_the_http_answer_is_the_ack() -> None:
    assert ack_payload(200, "text/plain", "") == (True, None)
    assert ack_payload(200, "application/json", '{"response_action": "clear"}') == (True, {"response_action": "clear"})
    assert ack_payload(200, "text/plain", "Working on it") == (True, {"text": "Working on it"})
    assert ack_payload(401, "application/json", '{"error": "invalid_signature"}') == (False, None)
    assert ack_payload(500, "text/plain", "") == (False, None)


def test_http_mode_needs_the_signing_secret_not_the_app_token() -> None:
    load_settings(slack_mode="http", slack_bot_token="xoxb-1", slack_signing_secret="s").require_slack()
    with pytest.raises(ConfigError) as caught:
        load_settings(slack_mode="http", slack_bot_token="xoxb-1", slack_app_token="xapp-1").require_slack()
    assert caught.value.fields == ["SLACK_SIGNING_SECRET"]
    with pytest.raises(ConfigError) as socket_caught:
        load_settings(slack_bot_token="xoxb-1", slack_signing_secret="s").require_slack()
    assert socket_caught.value.fields == ["SLACK_APP_TOKEN"]
