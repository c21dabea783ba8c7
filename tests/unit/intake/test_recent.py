"""Recently parsed bodies: only a byte-identical body is answered from memory, refusals never, within a byte budget."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from bot.errors import InvalidInput
from bot.intake.alertmanager import parse_alertmanager
from bot.intake.batch import IntakeBatch
from bot.intake.recent import RecentBodies
from bot.intake.sources import AuthScheme, Source, get_source

Payload = Callable[[str, str], bytes]


def counting_source(name: str = "alertmanager") -> tuple[Source, list[bytes]]:
    """The Alertmanager parser, noting every body it is asked to parse."""
    parsed: list[bytes] = []

    def parse(body: bytes | Mapping[str, Any]) -> IntakeBatch:
        assert isinstance(body, bytes)
        parsed.append(body)
        return parse_alertmanager(body)

    return Source(name, parse, AuthScheme.BEARER, "counting"), parsed


def test_a_redelivered_body_is_parsed_once_and_gives_the_same_alerts(payload: Payload) -> None:
    recent = RecentBodies()
    source, parsed = counting_source()
    body = payload("alertmanager", "firing")
    first = recent.parse(source, body)
    again = recent.parse(source, bytes(bytearray(body)))  # equal bytes, another object
    assert parsed == [body] and recent.hits == 1
    assert again.alerts == first.alerts == parse_alertmanager(body).alerts
    assert again.alerts[0].delivery_id() == first.alerts[0].delivery_id()


def test_each_delivery_gets_lists_of_its_own(payload: Payload) -> None:
    recent = RecentBodies()
    source, _ = counting_source()
    body = payload("alertmanager", "firing")
    first = recent.parse(source, body)
    first.alerts.clear()
    assert len(recent.parse(source, body).alerts) == 1


def test_alerts_cannot_be_changed_in_place(payload: Payload) -> None:
    alert = RecentBodies().parse(get_source_or_fail("alertmanager"), payload("alertmanager", "firing")).alerts[0]
    with pytest.raises(ValueError, match="frozen"):
        alert.title = "changed"  # type: ignore[misc]


def test_a_body_differing_by_one_byte_is_parsed_again(payload: Payload) -> None:
    recent = RecentBodies()
    source, parsed = counting_source()
    body = payload("alertmanager", "firing")
    other = body.replace(b'"fingerprint":"3f9c2a71be04d5e8"', b'"fingerprint":"3f9c2a71be04d5e9"')
    assert other != body
    recent.parse(source, body)
    assert recent.parse(source, other).alerts[0].fingerprint == "3f9c2a71be04d5e9"
    assert parsed == [body, other] and recent.hits == 0


def test_the_same_body_to_another_source_is_parsed_by_that_source(payload: Payload) -> None:
    recent = RecentBodies()
    first, first_parsed = counting_source("alertmanager")
    second, second_parsed = counting_source("other")
    body = payload("alertmanager", "firing")
    recent.parse(first, body)
    recent.parse(second, body)
    assert first_parsed == [body] and second_parsed == [body]


def test_a_refused_body_is_refused_every_time(payload: Payload) -> None:
    recent = RecentBodies()
    source, parsed = counting_source()
    bad = json.dumps({**json.loads(payload("alertmanager", "firing")), "status": "weird"}).encode()
    for _ in range(2):
        with pytest.raises(InvalidInput) as refused:
            recent.parse(source, bad)
        assert refused.value.fields == ["status"]
    assert len(parsed) == 2 and len(recent) == 0


def test_memory_stays_within_its_byte_budget(payload: Payload) -> None:
    body = payload("alertmanager", "firing")
    recent = RecentBodies(max_body_bytes=len(body), max_total_bytes=3 * len(body) + 10)
    source, parsed = counting_source()
    bodies = [body.replace(b"3f9c2a71be04d5e8", f"{n:016x}".encode()) for n in range(5)]
    for item in bodies:
        recent.parse(source, item)
    assert len(recent) == 3
    recent.parse(source, bodies[0])  # the oldest went first: parsed again
    assert parsed.count(bodies[0]) == 2
    too_big = body.replace(b'"receiver":"', b'"receiver":"' + b"x" * 10)
    recent.parse(source, too_big)
    recent.parse(source, too_big)
    assert parsed.count(too_big) == 2


def get_source_or_fail(name: str) -> Source:
    source = get_source(name)
    assert source is not None
    return source
