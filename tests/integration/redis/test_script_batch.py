"""The script batcher against a real Redis: each caller gets its own reply or error, in fewer round trips."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest
from redis.exceptions import ResponseError

from bot.connections import Redis
from bot.keys import Keys
from bot.redis_batch import MAX_BATCH, ScriptBatcher

pytestmark = pytest.mark.skipif(
    os.environ.get("RB_TEST_REDIS_CLUSTER") == "1", reason="pipelines a one-node script; a Cluster never uses it"
)

# Counts its calls in a key; refuses 'bad' with a script error, as a failed call of the store's scripts would.
ECHO = """
if ARGV[1] == 'bad' then return redis.error_reply('refused ' .. ARGV[1]) end
redis.call('INCR', KEYS[1])
return {ARGV[1], KEYS[1]}
"""


class CountingRedis(Redis):
    """The real client on the same pool, counting pipelines and single commands (each one round trip)."""

    trips: int
    pipelines: int

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.trips += 1
        return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        self.trips += 1
        self.pipelines += 1
        return super().pipeline(transaction, shard_hint)


def counting(redis: Redis) -> CountingRedis:
    client = CountingRedis(connection_pool=redis.connection_pool)
    client.trips = client.pipelines = 0
    return client


async def test_concurrent_calls_share_round_trips_and_each_gets_its_own_reply(redis: Redis, keys: Keys) -> None:
    client = counting(redis)
    batcher = ScriptBatcher(client, client.register_script(ECHO))
    counter = keys.group("calls")
    await batcher(keys=[counter], args=["warm-up"])  # loads the script
    client.trips = 0
    n = MAX_BATCH + 36
    replies = await asyncio.gather(*(batcher(keys=[counter], args=[f"call-{i}"]) for i in range(n)))
    assert replies == [[f"call-{i}", counter] for i in range(n)]
    assert await redis.get(counter) == str(n + 1), "every call ran exactly once"
    assert client.trips == 2, "two pipelines: MAX_BATCH calls, then the rest"


async def test_a_failing_call_fails_alone(redis: Redis, keys: Keys) -> None:
    batcher = ScriptBatcher(redis, redis.register_script(ECHO))
    counter = keys.group("calls")
    calls = [batcher(keys=[counter], args=[arg]) for arg in ("a", "bad", "c")]
    a, bad, c = await asyncio.gather(*calls, return_exceptions=True)
    assert a == ["a", counter] and c == ["c", counter]
    assert isinstance(bad, ResponseError) and "refused bad" in str(bad)
    with pytest.raises(ResponseError, match="refused bad"):
        await batcher(keys=[counter], args=["bad"])  # alone: the direct call raises the same


async def test_calls_of_a_script_the_server_does_not_hold_load_it_and_run_once_each(redis: Redis, keys: Keys) -> None:
    # A script text no server has seen (as after a restart flushed the script cache), without flushing a
    # server other tests may share: the pipelined EVALSHAs fail NOSCRIPT and each call falls back.
    unseen = f"-- {uuid.uuid4().hex}\n{ECHO}"
    client = counting(redis)
    batcher = ScriptBatcher(client, client.register_script(unseen))
    counter = keys.group("calls")
    replies = await asyncio.gather(*(batcher(keys=[counter], args=[str(i)]) for i in range(5)))
    assert replies == [[str(i), counter] for i in range(5)]
    assert client.pipelines == 1, "the calls went out pipelined first"
    assert await redis.get(counter) == "5", "no call ran twice"


async def test_a_cancelled_caller_leaves_the_others_their_replies(redis: Redis, keys: Keys) -> None:
    batcher = ScriptBatcher(redis, redis.register_script(ECHO))
    counter = keys.group("calls")
    doomed = asyncio.create_task(batcher(keys=[counter], args=["doomed"]))
    kept = asyncio.create_task(batcher(keys=[counter], args=["kept"]))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await kept == ["kept", counter]
    assert doomed.cancelled()


async def test_a_connection_failure_reaches_every_caller(keys: Keys) -> None:
    from bot.connections import make_client

    client = make_client("redis://127.0.0.1:1")  # nothing listens on port 1
    batcher = ScriptBatcher(client, client.register_script(ECHO))
    try:
        results = await asyncio.gather(
            *(batcher(keys=[keys.group("calls")], args=[str(i)]) for i in range(3)), return_exceptions=True
        )
    finally:
        await client.aclose()
    assert all(isinstance(r, Exception) for r in results), results
