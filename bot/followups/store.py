"""Follow-ups in Redis: one hash per incident (id → JSON) under its hash tag, and an index of incidents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError, WatchError

from bot.connections import Redis
from bot.errors import ConflictError, InvalidInput, StoreError
from bot.followups.models import FollowUp, FollowUpStatus
from bot.keys import Keys


class FollowUpStore:
    """Add, read and change follow-ups."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def add(self, incident_id: str, text: str, owner: str | None, actor: str, at: datetime) -> FollowUp:
        """Number and store a new follow-up."""
        number = int(await _call(self.redis.incr(self.keys.followup_counter(incident_id))))
        item = FollowUp(
            id=f"{incident_id}-F{number}",
            incident_id=incident_id,
            text=text,
            owner=owner,
            created_by=actor,
            created_at=at,
        )
        # The index lives in another Redis Cluster slot: written first, as its own command, so a listed
        # incident may have no follow-up yet (read as none) but a stored follow-up is never unlisted.
        await _call(self.redis.zadd(self.keys.followup_index(), {incident_id: at.timestamp()}))
        await _call(self.redis.hset(self.keys.followups(incident_id), item.id, item.model_dump_json()))
        return item

    async def get(self, incident_id: str, followup_id: str) -> FollowUp | None:
        """One follow-up, or None."""
        raw = await _call(self.redis.hget(self.keys.followups(incident_id), followup_id))
        return FollowUp.model_validate_json(raw) if raw else None

    async def get_or_raise(self, incident_id: str, followup_id: str) -> FollowUp:
        """One follow-up; InvalidInput naming it when there is none."""
        found = await self.get(incident_id, followup_id)
        if found is None:
            raise InvalidInput(f"{incident_id} has no follow-up {followup_id}", ["followup"])
        return found

    async def list_incident(self, incident_id: str) -> list[FollowUp]:
        """An incident's follow-ups in the order they were recorded."""
        raw = await _call(self.redis.hvals(self.keys.followups(incident_id)))
        items = [FollowUp.model_validate_json(r) for r in raw]
        return sorted(items, key=lambda f: (f.created_at, int(f.id.rsplit("F", 1)[1])))

    async def list_all(self, open_only: bool = False, incident_id: str | None = None) -> list[FollowUp]:
        """Follow-ups across incidents (or of one), oldest incident first; `open_only` keeps outstanding ones."""
        ids = [incident_id] if incident_id else await _call(self.redis.zrange(self.keys.followup_index(), 0, -1))
        items = [f for i in ids for f in await self.list_incident(i)]
        return [f for f in items if f.status is FollowUpStatus.OUTSTANDING] if open_only else items

    async def update(self, incident_id: str, followup_id: str, mutate: Callable[[FollowUp], None]) -> FollowUp:
        """Read, change and write one follow-up under WATCH, retrying when another writer got there first."""
        key = self.keys.followups(incident_id)
        for _ in range(10):
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    await pipe.watch(key)
                    raw = await pipe.hget(key, followup_id)
                    if not raw:
                        raise InvalidInput(f"{incident_id} has no follow-up {followup_id}", ["followup"])
                    item = FollowUp.model_validate_json(raw)
                    mutate(item)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(key, followup_id, item.model_dump_json())
                    await pipe.execute()
                    return item
            except WatchError:
                continue
            except RedisError as exc:
                raise StoreError(f"redis: {exc}") from exc
        raise ConflictError(f"follow-up {followup_id} kept changing under us")


async def _call(awaitable: Awaitable[Any]) -> Any:
    try:
        return await awaitable
    except RedisError as exc:
        raise StoreError(f"redis: {exc}") from exc
