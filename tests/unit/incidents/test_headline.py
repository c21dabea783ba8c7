"""Timeline lines name the event type once."""

from __future__ import annotations

from bot.incidents.models import EventType, TimelineEvent


def test_a_summary_starting_with_its_type_is_not_prefixed_again() -> None:
    assert TimelineEvent(EventType.OPENED, "INC-1", "opened: disk full").headline() == "opened: disk full"
    assert TimelineEvent(EventType.REOPENED, "INC-1", "reopened by DiskFull").headline() == "reopened by DiskFull"
    assert TimelineEvent(EventType.NOTE, "INC-1", "rolled back").headline() == "note: rolled back"
    # Only the type's own word counts: "openedness" is not "opened".
    assert TimelineEvent(EventType.OPENED, "INC-1", "openedness").headline() == "opened: openedness"
