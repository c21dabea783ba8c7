"""Random rounds of concurrent writers against real Redis never break the state machine or lose a write."""

from __future__ import annotations

import asyncio

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from bot.connections import delete_matching, make_client
from bot.errors import IllegalTransition
from bot.incidents.models import ALLOWED_MOVES, EventType, Incident, Status
from bot.incidents.store import IncidentStore
from bot.keys import Keys

rounds_strategy = st.lists(
    st.lists(st.sampled_from(list(Status)), min_size=1, max_size=4),
    min_size=1,
    max_size=6,
)


async def _run(url: str, keys: Keys, rounds: list[list[Status]]) -> None:
    client = make_client(url)
    try:
        store = IncidentStore(client, keys)
        incident = await store.create_incident("hypothesis")
        successes = 0

        async def attempt(target: Status) -> bool:
            try:
                await store.transition(incident.id, target, actor="U1")
                return True
            except IllegalTransition:
                return False

        def label(n: int):  # type: ignore[no-untyped-def]
            def mutate(i: Incident) -> None:
                i.labels = {**i.labels, f"round{n}": "x"}

            return mutate

        for n, writers in enumerate(rounds):
            outcomes = await asyncio.gather(
                *(attempt(t) for t in writers), store.update_incident(incident.id, label(n))
            )
            successes += sum(1 for o in outcomes[:-1] if o)

        final = await store.get_incident_or_raise(incident.id)
        assert final.version == 1 + successes + len(rounds)
        assert len(final.labels) == len(rounds)
        status = Status.TRIGGERED
        moves = [e for e in await store.read_timeline(incident.id) if e.type in (EventType.STATUS, EventType.REOPENED)]
        assert len(moves) == successes
        for event in moves:
            target = Status(event.data["status"])
            assert target in ALLOWED_MOVES[status], (status, target)
            status = target
        assert status is final.status
    finally:
        await delete_matching(client, keys.pattern())
        await client.aclose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=rounds_strategy)
def test_random_concurrent_transitions_stay_legal(redis_url: str, keys: Keys, rounds: list[list[Status]]) -> None:
    asyncio.run(_run(redis_url, keys, rounds))
