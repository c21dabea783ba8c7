"""Redaction of secrets from evidence and errors."""

from __future__ import annotations

from bot.engine.redact import Redactor, redact, redactor_for, secrets_of
from bot.settings import Settings


def test_settings_secrets_and_dsn_passwords() -> None:
    settings = Settings(
        _env_file=None,
        slack_bot_token="xoxb-123-456-abc",
        database_dsns={"orders": "postgresql://app:p%40ss-word@db:5432/orders"},
        cache_urls={"c": "redis://:cachepw99@redis:6379/0"},
    )
    found = secrets_of(settings)
    assert {"xoxb-123-456-abc", "p@ss-word", "cachepw99"} <= set(found)
    r = redactor_for(settings, ["incident-only-secret"])
    text = "tok xoxb-123-456-abc; auth failed for p@ss-word; cachepw99 and incident-only-secret"
    assert r.text(text) == "tok ***; auth failed for ***; *** and ***"


def test_patterns() -> None:
    cases = {
        "postgresql://app:s3cr3t@db/x": "postgresql://app:***@db/x",
        "redis://:pw1234@cache:6379": "redis://:***@cache:6379",
        "Authorization: Bearer eyJhbGciOi.J9x": "Authorization: Bearer ***",
        "login password=hunter2 user=bob": "login password=*** user=bob",
        '{"api_key": "abc123", "name": "x"}': '{"api_key": "***", "name": "x"}',
        "PGPASSWORD=zzz psql": "PGPASSWORD=*** psql",
        "max_tokens: 5 and tokens used": "max_tokens: 5 and tokens used",
        "GenieKey abcdef-123456": "GenieKey ***",
    }
    for raw, expected in cases.items():
        assert redact(raw) == expected, raw


def test_short_values_are_not_masked_and_data_is_walked() -> None:
    r = Redactor(["ab", "longer-secret"])
    assert r.text("ab cd") == "ab cd"
    assert r.data({"rows": [{"v": "longer-secret"}, 3], "n": None}) == {"rows": [{"v": "***"}, 3], "n": None}
