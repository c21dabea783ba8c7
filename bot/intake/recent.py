"""Recently parsed bodies: a re-delivered body (Alertmanager repeats an open group's message) skips parsing.

Parsers are pure functions of the body's bytes, so a body byte-for-byte equal to one that parsed before
parses to the same batch. The body itself is the key: a dict lookup hashes it and, on a hit, compares it
byte for byte, so only an identical body is ever answered from here (no digest to collide). Only batches
that parsed are kept; a refused body is parsed, and refused, every time.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from bot.intake.batch import IntakeBatch
from bot.intake.sources import Source

# Bodies larger than this are parsed every time: a group's message with a few alerts is a few KiB.
MAX_BODY_BYTES = 64 * 1024
# Bytes of body kept in all; each entry also holds its batch, a few times its body's size at most.
MAX_TOTAL_BYTES = 4 * 1024 * 1024


class RecentBodies:
    """Source and body → the batch it parsed to, least recently used first out, bounded in bytes."""

    def __init__(self, max_body_bytes: int = MAX_BODY_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_total_bytes = max_total_bytes
        self._batches: OrderedDict[tuple[str, bytes], IntakeBatch] = OrderedDict()
        self._bytes = 0
        self.hits = 0

    def parse(self, source: Source, body: bytes) -> IntakeBatch:
        """The batch `source` parses `body` to, from memory when this very body parsed before."""
        key = (source.name, body)
        batch = self._batches.get(key)
        if batch is not None:
            self._batches.move_to_end(key)
            self.hits += 1
        else:
            batch = source.parse(body)  # raises InvalidInput for a bad body: nothing is kept
            self._keep(key, batch)
        # A batch of its own for each delivery, so nothing that holds one can change another's lists.
        return replace(
            batch, alerts=list(batch.alerts), acknowledgements=list(batch.acknowledgements), ignored=list(batch.ignored)
        )

    def __len__(self) -> int:
        return len(self._batches)

    def _keep(self, key: tuple[str, bytes], batch: IntakeBatch) -> None:
        size = len(key[1])
        if size > self.max_body_bytes or size > self.max_total_bytes:
            return
        self._batches[key] = batch
        self._bytes += size
        while self._bytes > self.max_total_bytes:
            (_, old), _ = self._batches.popitem(last=False)
            self._bytes -= len(old)
