"""Hostile bodies: every way a body can fail to decode is an InvalidInput naming the problem, never another error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.intake.common import (
    INVALID_ENCODING,
    INVALID_JSON,
    INVALID_TEXT,
    MAX_DEPTH,
    NESTING_TOO_DEEP,
    check_tree,
    decode_json,
)
from bot.intake.sources import list_sources
from tests.conftest import FIXTURES

SOURCES = [s.name for s in list_sources()]


def refusal(body: bytes, source: str = "generic") -> InvalidInput:
    parse = next(s.parse for s in list_sources() if s.name == source)
    with pytest.raises(InvalidInput) as caught:
        parse(body)
    return caught.value


@pytest.mark.parametrize("source", SOURCES)
def test_depth_bomb_is_nesting_too_deep(source: str) -> None:
    error = refusal(b"[" * 100_000 + b"]" * 100_000, source)
    assert error.details["code"] == NESTING_TOO_DEEP
    assert error.message == f"body nests deeper than {MAX_DEPTH} levels"


def test_nesting_under_the_recursion_limit_is_refused_by_the_walk() -> None:
    # 200 levels decode fine; the tree check still refuses them.
    error = refusal(b'{"alerts": [{"name": "x", "labels": ' + b"[" * 200 + b"]" * 200 + b"}]}")
    assert error.details["code"] == NESTING_TOO_DEEP


def test_depth_at_the_limit_is_fine() -> None:
    value: Any = "leaf"
    for _ in range(MAX_DEPTH):
        value = [value]
    check_tree(value)
    with pytest.raises(InvalidInput):
        check_tree([value])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"alerts": [{"name": "x", "title": "\\ud800"}]}', "alerts.0.title"),
        (b'{"group_key": "a\\udfffb", "alerts": [{"name": "x"}]}', "group_key"),
        (b'{"alerts": [{"name": "x", "labels": {"\\udc00k": "v"}}]}', "alerts.0.labels.\\udc00k"),
    ],
)
def test_lone_surrogate_is_invalid_text_naming_the_field(body: bytes, field: str) -> None:
    error = refusal(body)
    assert error.details["code"] == INVALID_TEXT
    assert error.fields == [field]
    # The message itself must be storable and printable text.
    error.message.encode("utf-8")


def test_lone_surrogate_in_an_alertmanager_group_key() -> None:
    body = {"version": "4", "groupKey": "\ud800", "status": "firing", "alerts": []}
    error = refusal(json.dumps(body).encode(), "alertmanager")
    assert error.details["code"] == INVALID_TEXT and error.fields == ["groupKey"]


def test_a_surrogate_pair_is_fine() -> None:
    [alert] = next(s.parse for s in list_sources() if s.name == "generic")(
        b'{"alerts": [{"name": "x", "title": "\\ud83d\\udd25"}]}'
    ).alerts
    assert alert.title == "\N{FIRE}"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"alerts": [{"name": "caf\xe9"}]}', INVALID_ENCODING),
        ('{"alerts": [{"name": "x"}]}'.encode("utf-16"), INVALID_ENCODING),
        (b'{"alerts": [{"name": "x", "value": ' + b"9" * 5000 + b"}]}", INVALID_JSON),
        (b"", INVALID_JSON),
    ],
)
def test_undecodable_bodies(body: bytes, code: str) -> None:
    assert refusal(body).details["code"] == code


def test_not_utf8_names_the_byte() -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_json(b'{"a": "caf\xe9"}')
    assert caught.value.message == "body is not UTF-8: byte 0xe9 at offset 10"


def test_utf8_bom_is_tolerated() -> None:
    assert decode_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(
    ["alerts", "version", "groupKey", "status", "event", "createdAt", "updatedAt", "date", "alert", "action", "tags"]
)


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=150, deadline=None)
@given(data=st.dictionaries(KEYS, JSON, max_size=6) | JSON)
def test_any_json_parses_or_is_refused_cleanly(source: str, data: object) -> None:
    parse = next(s.parse for s in list_sources() if s.name == source)
    try:
        parse(json.dumps(data).encode())
    except InvalidInput as exc:
        assert exc.details["code"]


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=64))
def test_any_bytes_parse_or_are_refused_cleanly(source: str, body: bytes) -> None:
    parse = next(s.parse for s in list_sources() if s.name == source)
    try:
        parse(body)
    except InvalidInput as exc:
        assert exc.details["code"]


def _paths(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def _replace(value: Any, path: tuple[str | int, ...], new: object) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)  # type: ignore[index]
    return copy


FIXTURE_BODIES = [
    (path.parent.name, json.loads(path.read_bytes())) for path in sorted((FIXTURES / "payloads").glob("*/*.json"))
]
HOSTILE_LEAVES = JSON | st.sampled_from(
    [10**30, -(10**30), 1e308, -1e308, 2**63, "9" * 40, "", "\x00", "NaN", "1e999", [], {}]
)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_field_of_a_real_payload_replaced_parses_or_is_refused_cleanly(data: st.DataObject) -> None:
    source, payload = data.draw(st.sampled_from(FIXTURE_BODIES))
    path = data.draw(st.sampled_from(_paths(payload)))
    mutated = _replace(payload, path, data.draw(HOSTILE_LEAVES))
    parse = next(s.parse for s in list_sources() if s.name == source)
    try:
        parse(json.dumps(mutated).encode())
    except InvalidInput as exc:
        assert exc.details["code"]
