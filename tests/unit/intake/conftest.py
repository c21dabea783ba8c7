"""Payload fixtures for the intake parser tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import FIXTURES

PAYLOADS = FIXTURES / "payloads"


@pytest.fixture
def payload() -> Callable[[str, str], bytes]:
    """Raw bytes of tests/fixtures/payloads/<source>/<name>.json."""

    def read(source: str, name: str) -> bytes:
        return (PAYLOADS / source / f"{name}.json").read_bytes()

    return read
