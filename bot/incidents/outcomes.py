"""What `open_or_update` did with an alert, and the recently read records the de-dup path decides from.

A re-delivered alert's answer needs the owning incident's id, and whether the alert would open a new
incident (the owner closed past the reopen window): its status and resolution time. Parsing the whole
record for that was the largest cost of a re-delivery, so a duplicate's outcome parses its incident
only when asked for it, and the decision reads a recently parsed copy of the very same record.
"""

from __future__ import annotations

from collections import OrderedDict

from bot.incidents.models import Incident

# Bytes of records kept for decisions; a record is a few KiB.
MAX_RECORD_BYTES = 4 * 1024 * 1024


def load_incident(data: str, version: str) -> Incident:
    """The incident of a stored record (its JSON and version)."""
    incident = Incident.model_validate_json(data)
    incident.version = int(version)
    return incident


class AlertOutcome:
    """What `open_or_update` did with one alert; a duplicate's incident is parsed from its record on first use."""

    __slots__ = ("_incident", "_record", "created", "incident_id", "recorded", "reopened", "status_changed")

    def __init__(
        self,
        incident: Incident | None,
        created: bool = False,
        reopened: bool = False,
        recorded: bool = False,
        status_changed: bool = False,
    ) -> None:
        self._incident = incident
        self._record: tuple[str, str] | None = None
        self.incident_id = incident.id if incident is not None else None
        self.created = created
        self.reopened = reopened
        self.recorded = recorded
        self.status_changed = status_changed

    @classmethod
    def duplicate(cls, incident_id: str, data: str, version: str) -> AlertOutcome:
        """Nothing recorded: the alert was already on this incident, whose stored record is `data`."""
        outcome = cls(None)
        outcome.incident_id = incident_id
        outcome._record = (data, version)
        return outcome

    @property
    def incident(self) -> Incident | None:
        """The incident the alert went to (a copy of its own), or None when it went nowhere."""
        if self._record is not None:
            self._incident = load_incident(*self._record)
            self._record = None
        return self._incident

    def __repr__(self) -> str:
        flags = [name for name in ("created", "reopened", "recorded", "status_changed") if getattr(self, name)]
        return f"AlertOutcome({self.incident_id!r}{', ' if flags else ''}{', '.join(flags)})"


class RecentRecords:
    """Stored record → its parsed incident, for read-only decisions; keyed by the record's exact text."""

    def __init__(self, max_bytes: int = MAX_RECORD_BYTES) -> None:
        self.max_bytes = max_bytes
        self._incidents: OrderedDict[str, Incident] = OrderedDict()
        self._bytes = 0

    def read(self, data: str, version: str) -> Incident:
        """The incident of this record; shared, so never to be changed or handed out."""
        incident = self._incidents.get(data)
        if incident is not None:
            self._incidents.move_to_end(data)
            return incident
        incident = load_incident(data, version)
        if len(data) <= self.max_bytes:
            self._incidents[data] = incident
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                old, _ = self._incidents.popitem(last=False)
                self._bytes -= len(old)
        return incident
