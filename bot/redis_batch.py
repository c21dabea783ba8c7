"""Calls of one Lua script made in the same event-loop turn, sent to Redis together in one pipeline.

A burst of webhooks (an Alertmanager re-delivering its open groups) asks the store for the same
lookup script many times at once. One call each costs a pooled connection, a write and a read of
its own; a pipeline of them costs one of each, and Redis still runs every call, in order, as its
own script: each caller gets its own reply or its own error, exactly as from a direct call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from bot.connections import Redis

# More waiting calls than this go out in several pipelines, on as many connections.
MAX_BATCH = 64

Arg = str | int | float | bytes


@dataclass(frozen=True)
class _Call:
    keys: Sequence[str]
    args: Sequence[Arg]
    reply: asyncio.Future[Any]


class ScriptBatcher:
    """Runs a registered script like `script(keys=..., args=...)`, pipelining the calls of one loop turn."""

    def __init__(self, redis: Redis, script: AsyncScript) -> None:
        self.redis = redis
        self.script = script
        self._waiting: list[_Call] = []
        # The loop a flush is scheduled on; None when no flush is due.
        self._flush_on: asyncio.AbstractEventLoop | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """The script's reply; raises what a direct call raises (a RedisError)."""
        loop = asyncio.get_running_loop()
        if self._flush_on is not loop:
            # No flush due, or one due on a loop that stopped before it ran (its callers are gone with it).
            self._waiting = []
            self._flush_on = loop
            loop.call_soon(self._flush)
        call = _Call(keys, args, loop.create_future())
        self._waiting.append(call)
        return await call.reply

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        self._flush_on = None
        for start in range(0, len(waiting), MAX_BATCH):
            task = asyncio.get_running_loop().create_task(self._send(waiting[start : start + MAX_BATCH]))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            if len(calls) == 1:  # nothing to share: the direct call is cheaper than a pipeline
                _settle(calls[0], await self._direct(calls[0]))
                return
            replies = await self._pipelined(calls)
            for call, reply in zip(calls, replies, strict=True):
                # A flushed script cache (a restarted server) fails the pipelined EVALSHA: the direct call
                # loads the script and runs it again, as it would have on its own.
                _settle(call, await self._direct(call) if isinstance(reply, NoScriptError) else reply)
        except Exception as exc:  # the connection failed: every call of the pipeline gets the error
            for call in calls:
                _settle(call, exc)
        except BaseException:  # cancelled (the loop is closing): the callers must not wait forever
            for call in calls:
                call.reply.cancel()
            raise

    async def _pipelined(self, calls: list[_Call]) -> list[Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.evalsha(self.script.sha, len(call.keys), *call.keys, *call.args)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    async def _direct(self, call: _Call) -> Any:
        try:
            return await self.script(keys=list(call.keys), args=list(call.args))
        except Exception as exc:  # the caller's own error, raised where it awaits
            return exc


def _settle(call: _Call, reply: Any) -> None:
    if call.reply.done():  # the caller went away (cancelled): nobody to tell
        return
    if isinstance(reply, Exception):
        call.reply.set_exception(reply)
    else:
        call.reply.set_result(reply)
