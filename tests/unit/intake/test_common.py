"""Shared intake helpers: severity, service, environment, times, tags, payload validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from bot.alerts import Severity
from bot.errors import InvalidInput
from bot.intake.common import (
    INVALID_ENCODING,
    INVALID_JSON,
    INVALID_PAYLOAD,
    as_utc,
    environment_from,
    from_epoch,
    load_payload,
    map_severity,
    parse_tags,
    service_from,
)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("critical", Severity.P1),
        ("PAGE", Severity.P1),
        ("error", Severity.P2),
        ("high", Severity.P2),
        ("warning", Severity.P3),
        (" Warn ", Severity.P3),
        ("info", Severity.P4),
        ("P1", Severity.P1),
        ("P2", Severity.P2),
        ("p4", Severity.P4),
        ("P5", Severity.P4),
        ("mystery", Severity.P3),
        ("", Severity.P3),
        (None, Severity.P3),
    ],
)
def test_map_severity(word: str | None, expected: Severity) -> None:
    assert map_severity(word) is expected


def test_map_severity_default_is_used_for_unknown_words() -> None:
    assert map_severity("mystery", default=Severity.P2) is Severity.P2


def test_service_prefers_service_then_app_then_job() -> None:
    assert service_from({"job": "j", "app": "a", "service": "s"}) == "s"
    assert service_from({"job": "j", "app": "a"}) == "a"
    assert service_from({"job": "j", "service": ""}) == "j"
    assert service_from({}) == "unknown"


def test_environment_from_labels_defaults_to_prod() -> None:
    assert environment_from({"environment": "staging"}) == "staging"
    assert environment_from({"env": "dev", "environment": "staging"}) == "dev"
    assert environment_from({}) == "prod"


def test_as_utc_drops_go_zero_time_and_converts_offsets() -> None:
    assert as_utc(datetime(1, 1, 1, tzinfo=UTC)) is None
    assert as_utc(datetime.fromisoformat("2025-11-20T09:10:00+01:00")) == datetime(2025, 11, 20, 8, 10, tzinfo=UTC)
    assert as_utc(datetime(2025, 1, 1)) == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", [1763626502, 1763626502000, 1763626502000000, 1763626502000000000, "1763626502000"])
def test_from_epoch_guesses_the_unit(value: int | str) -> None:
    assert from_epoch(value) == datetime(2025, 11, 20, 8, 15, 2, tzinfo=UTC)


def test_from_epoch_empty_is_none() -> None:
    assert from_epoch(None) is None
    assert from_epoch("") is None


def test_parse_tags_from_list_and_string() -> None:
    assert parse_tags(["env:prod", "team:a:b", "bare"]) == {"env": "prod", "team": "a:b", "bare": ""}
    assert parse_tags("env:prod, service:api,,") == {"env": "prod", "service": "api"}
    assert parse_tags(None) == {}


class _Inner(BaseModel):
    n: int


class _Model(BaseModel):
    name: str
    items: list[_Inner]


def test_load_payload_names_every_bad_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_payload(_Model, {"items": [{"n": 1}, {"n": "x"}, {}]})
    assert caught.value.fields == ["name", "items.1.n", "items.2.n"]
    assert caught.value.details["code"] == INVALID_PAYLOAD
    assert {e["field"] for e in caught.value.details["errors"]} == {"name", "items.1.n", "items.2.n"}


def test_load_payload_tells_bad_json_apart() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_payload(_Model, b'{"name": ')
    assert caught.value.details["code"] == INVALID_JSON
    with pytest.raises(InvalidInput) as caught:
        load_payload(_Model, b"\xff\xfe")
    assert caught.value.details["code"] == INVALID_ENCODING


def test_load_payload_non_object_names_the_body() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_payload(_Model, b"[1, 2]")
    assert caught.value.fields == ["body"]
