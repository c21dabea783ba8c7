"""Timeline capture: a pinned message becomes one timeline entry, unpinned marks it removed; notes are added as is.

A message may be pinned by several people: the entry is written when the first pin arrives and marked removed when
the last one goes. Each Slack event id is applied once, so event retries change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from bot.alerts import utcnow
from bot.errors import StoreError
from bot.incidents.models import EventType, TimelineEvent
from bot.incidents.store import IncidentStore

SUMMARY_CHARS = 200
# Event ids are kept this long: Slack retries within minutes.
EVENTS_SEEN_TTL_S = 7 * 24 * 3600

# KEYS: pinners set, timeline, events-seen set, pin entries hash. ARGV: user, event id, maxlen, event fields, ts, ttl.
# Returns the new entry's id when this is the message's first pin, else ''.
_PIN = """
if ARGV[2] ~= '' then
  if redis.call('SADD', KEYS[3], ARGV[2]) == 0 then return '' end
  redis.call('EXPIRE', KEYS[3], ARGV[6])
end
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return '' end
if redis.call('SCARD', KEYS[1]) > 1 then return '' end
local ev = cjson.decode(ARGV[4])
local flat = {}
for k, v in pairs(ev) do
  flat[#flat + 1] = k
  flat[#flat + 1] = v
end
local sid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(flat))
redis.call('HSET', KEYS[4], ARGV[5], sid)
return sid
"""

# Same KEYS and ARGV, with the unpin event's fields (its data gets `removed`: the pin entry's id).
# Returns the removed entry's id when this was the message's last pin, else ''.
_UNPIN = """
if ARGV[2] ~= '' then
  if redis.call('SADD', KEYS[3], ARGV[2]) == 0 then return '' end
  redis.call('EXPIRE', KEYS[3], ARGV[6])
end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return '' end
if redis.call('SCARD', KEYS[1]) > 0 then return '' end
local sid = redis.call('HGET', KEYS[4], ARGV[5])
if not sid then return '' end
redis.call('HDEL', KEYS[4], ARGV[5])
local ev = cjson.decode(ARGV[4])
local data = cjson.decode(ev['data'])
data['removed'] = sid
ev['data'] = cjson.encode(data)
local flat = {}
for k, v in pairs(ev) do
  flat[#flat + 1] = k
  flat[#flat + 1] = v
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(flat))
return sid
"""


@dataclass(frozen=True)
class PinnedMessage:
    """A message of an incident channel, as the timeline records it."""

    channel: str
    ts: str
    author: str
    text: str
    permalink: str | None


def short(text: str, limit: int = SUMMARY_CHARS) -> str:
    """One line of at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class TimelineCapture:
    """Pins and notes on incident timelines, each written exactly once."""

    def __init__(self, store: IncidentStore, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock
        self._pin = store.redis.register_script(_PIN)
        self._unpin = store.redis.register_script(_UNPIN)

    async def pin(self, incident_id: str, message: PinnedMessage, by: str, event_id: str = "") -> str | None:
        """Add the message to the timeline unless it is there already; the new entry's id, else None."""
        data = {
            "author": message.author,
            "text": message.text,
            "permalink": message.permalink,
            "channel": message.channel,
            "ts": message.ts,
            "pinned_by": by,
        }
        event = TimelineEvent(EventType.PIN, incident_id, f"pinned: {short(message.text)}", by, data, self.clock())
        return await self._run(self._pin, incident_id, message.ts, by, event_id, event)

    async def unpin(self, incident_id: str, message_ts: str, by: str, event_id: str = "") -> str | None:
        """Mark the message's entry removed once nobody pins it any more; the removed entry's id, else None."""
        data = {"ts": message_ts, "unpinned_by": by}
        event = TimelineEvent(EventType.UNPIN, incident_id, "pin removed", by, data, self.clock())
        return await self._run(self._unpin, incident_id, message_ts, by, event_id, event)

    async def note(self, incident_id: str, text: str, by: str) -> str:
        """Add a note to the timeline; returns its id."""
        event = TimelineEvent(EventType.NOTE, incident_id, text, by, {"text": text}, self.clock())
        return await self.store.append_timeline(event)

    async def _run(
        self, script: Any, incident_id: str, ts: str, user: str, event_id: str, event: TimelineEvent
    ) -> str | None:
        keys = self.store.keys
        try:
            sid = await script(
                keys=[
                    keys.pinners(incident_id, ts),
                    keys.timeline(incident_id),
                    keys.slack_events_seen(incident_id),
                    keys.pin_entries(incident_id),
                ],
                args=[
                    user,
                    event_id,
                    self.store.timeline_max_len,
                    json.dumps(event.to_fields()),
                    ts,
                    EVENTS_SEEN_TTL_S,
                ],
            )
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        return str(sid) if sid else None


def live_pins(events: Sequence[TimelineEvent]) -> list[TimelineEvent]:
    """The pin entries of a timeline whose removal is not recorded after them."""
    removed = {str(e.data.get("removed")) for e in events if e.type is EventType.UNPIN}
    return [e for e in events if e.type is EventType.PIN and e.stream_id not in removed]
