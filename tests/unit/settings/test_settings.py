"""Settings come from the environment; every problem is named at once; secrets never print."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings


def test_defaults_without_environment() -> None:
    settings = load_settings()
    assert settings.redis_url is None
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.http_port == 8080


def test_environment_is_read_and_secrets_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.log_level == "DEBUG"
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.model_dump())
    assert settings.slack_bot_token is not None and settings.slack_bot_token.get_secret_value() == "xoxb-very-secret"


def test_every_problem_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "not-a-port")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "HTTP_PORT" in str(info.value) and "LOG_FORMAT" in str(info.value)
    assert info.value.fields == ["HTTP_PORT", "LOG_FORMAT"]


def test_missing_slack_tokens_named_together() -> None:
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN, SLACK_APP_TOKEN"):
        load_settings().require_slack()
