"""The embedded Valkey keeps incidents, counters and streams across a stop and a start."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.alerts import Alert
from bot.connections import EmbeddedValkey, connect
from bot.errors import StoreError
from bot.incidents.models import AuditEvent, EventType
from bot.incidents.store import IncidentStore
from bot.keys import Keys


def alert(fp: str) -> Alert:
    return Alert(source="generic", name="DiskFull", group_key="disk", fingerprint=fp, title="disk full", service="db")


async def test_state_survives_restart(tmp_path: Path) -> None:
    handle = await connect(None, tmp_path)
    assert handle.embedded is not None
    store = IncidentStore(handle.client, Keys())
    opened = await store.open_or_update(alert("a1"))
    await store.open_or_update(alert("a2"))
    await store.audit(AuditEvent(action="approve", actor="U1", outcome="ok", incident_id="INC-1"))
    await handle.close()
    assert (tmp_path / "valkey").is_dir()

    again = await connect(None, tmp_path)
    try:
        store = IncidentStore(again.client, Keys())
        incident = await store.get_incident_or_raise("INC-1")
        assert opened.incident is not None and incident.title == opened.incident.title
        assert incident.alerts_firing == 2
        timeline = await store.read_timeline("INC-1")
        assert [e.type for e in timeline] == [EventType.OPENED, EventType.ALERT, EventType.ALERT]
        assert [a.actor for a in await store.read_audit()] == ["U1"]
        nxt = await store.create_incident("second")
        assert nxt.id == "INC-2"
        # The group still maps to INC-1: a re-delivery is still a duplicate after the restart.
        dup = await store.open_or_update(alert("a1"))
        assert not dup.recorded and dup.incident is not None and dup.incident.id == "INC-1"
    finally:
        await again.close()


def test_embedded_url_before_start_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not running"):
        _ = EmbeddedValkey(tmp_path).url


async def test_unreachable_redis_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"cannot reach Redis at redis://u:\*\*\*@127.0.0.1:1"):
        await connect("redis://u:secret@127.0.0.1:1/0", tmp_path)
