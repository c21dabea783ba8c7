"""The source registry: every source has a URL, help, a pure parser, fixtures, and refuses garbage the same way."""

from __future__ import annotations

import inspect

import pytest

from bot.errors import InvalidInput
from bot.intake.batch import IntakeBatch
from bot.intake.common import INVALID_JSON, INVALID_PAYLOAD
from bot.intake.sources import AuthScheme, Source, get_source, list_sources, register_source
from tests.unit.intake.conftest import PAYLOADS

SOURCES = list_sources()
EXPECTED = {"alertmanager", "grafana", "pagerduty", "opsgenie", "datadog", "generic"}


def test_registry_holds_every_source() -> None:
    assert {s.name for s in SOURCES} == EXPECTED
    pagerduty = get_source("pagerduty")
    assert pagerduty is not None and pagerduty.auth is AuthScheme.PAGERDUTY_SIGNATURE
    assert get_source("nope") is None


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_each_source_is_documented_and_pure(source: Source) -> None:
    assert source.path == f"/alerts/{source.name}"
    assert source.help and "\n" not in source.help
    assert not inspect.iscoroutinefunction(source.parse)
    assert (source.parse.__doc__ or "").strip()


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_each_source_parses_all_its_valid_fixtures(source: Source) -> None:
    files = [f for f in sorted((PAYLOADS / source.name).glob("*.json")) if f.stem not in {"invalid", "unknown_field"}]
    assert files, f"no fixtures for {source.name}"
    for path in files:
        batch = source.parse(path.read_bytes())
        assert isinstance(batch, IntakeBatch) and batch.source == source.name
        assert all(a.source == source.name and a.group_key.startswith(source.name + ":") for a in batch.alerts)


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
@pytest.mark.parametrize(
    ("body", "code"), [(b"{not json", INVALID_JSON), (b"[]", INVALID_PAYLOAD), (b"{}", INVALID_PAYLOAD)]
)
def test_each_source_refuses_garbage(source: Source, body: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        source.parse(body)
    assert caught.value.details["code"] == code
    assert caught.value.fields


def test_register_refuses_duplicates_bad_names_and_coroutines() -> None:
    parse = SOURCES[0].parse
    with pytest.raises(ValueError, match="already registered"):
        register_source("generic", parse, AuthScheme.BEARER, "again")
    with pytest.raises(ValueError, match="bad source name"):
        register_source("Bad Name", parse, AuthScheme.BEARER, "x")

    async def parse_async(body: bytes) -> IntakeBatch:
        return IntakeBatch(source="x")

    with pytest.raises(TypeError):
        register_source("asyncsource", parse_async, AuthScheme.BEARER, "x")  # type: ignore[arg-type]
    assert get_source("asyncsource") is None
