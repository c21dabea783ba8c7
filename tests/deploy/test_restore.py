"""The restore docs/operations.md describes: an RDB snapshot dropped into the embedded Valkey's folder comes back."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import redis as sync_redis

from bot.connections import EmbeddedValkey


def snapshot(source: Path) -> Path:
    """Fill an embedded Valkey the way the bot does, take a snapshot, stop it; the dump.rdb path."""
    server = EmbeddedValkey(source)
    client = sync_redis.Redis.from_url(server.start(), decode_responses=True)
    try:
        client.hset("rb:{INC-7}:incident", mapping={"data": '{"id": "INC-7"}', "version": "3"})
        client.xadd("rb:{INC-7}:timeline", {"event": "opened"})
        client.zadd("rb:timers:due", {"escalate:INC-7:2": 1_700_000_000})
        client.save()  # what BGSAVE does, synchronously: no polling of LASTSAVE in a test
    finally:
        client.close()
        server.stop()
    return server.data_dir / "dump.rdb"


def keys_of(data_dir: Path) -> dict[str, str]:
    """Start the embedded Valkey on a folder and list its keys with their types."""
    server = EmbeddedValkey(data_dir)
    client = sync_redis.Redis.from_url(server.start(), decode_responses=True)
    try:
        return {key: client.type(key) for key in client.scan_iter("rb:*")}
    finally:
        client.close()
        server.stop()


def load_snapshot_into_aof(folder: Path) -> None:
    """The documented step: start on the folder with AOF off (so dump.rdb loads), turn AOF on, wait, stop."""
    server = EmbeddedValkey(folder.parent, appendonly=False)
    client = sync_redis.Redis.from_url(server.start(), decode_responses=True)
    try:
        client.config_set("appendonly", "yes")  # rewrites the append-only file from the loaded data
        deadline = time.monotonic() + 30
        while True:
            info = client.info("persistence")
            if info["aof_enabled"] and not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                break
            assert time.monotonic() < deadline, f"the AOF rewrite did not finish: {info}"
            time.sleep(0.05)
    finally:
        client.close()
        server.stop()


EXPECTED = {"rb:{INC-7}:incident": "hash", "rb:{INC-7}:timeline": "stream", "rb:timers:due": "zset"}


def test_a_snapshot_alone_is_ignored_while_aof_is_on(tmp_path: Path) -> None:
    # Why the documented restore has its extra step: with AOF on and no AOF yet, the server starts empty.
    dump = snapshot(tmp_path / "old")
    (tmp_path / "new" / "valkey").mkdir(parents=True)
    shutil.copy(dump, tmp_path / "new" / "valkey" / "dump.rdb")
    assert keys_of(tmp_path / "new") == {}


def test_an_rdb_snapshot_restores_into_an_empty_embedded_store(tmp_path: Path) -> None:
    dump = snapshot(tmp_path / "old")
    folder = tmp_path / "new" / "valkey"
    folder.mkdir(parents=True)
    shutil.copy(dump, folder / "dump.rdb")
    load_snapshot_into_aof(folder)
    # The bot's own start (AOF on) now finds everything, and keeps it without the snapshot.
    (folder / "dump.rdb").unlink()
    assert keys_of(tmp_path / "new") == EXPECTED
    assert keys_of(tmp_path / "new") == EXPECTED
