"""Redis topology settings: sentinel lists, cluster URLs, the replica wait default, and one slot per timer script."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from bot.connections import cluster_url
from bot.errors import ConfigError
from bot.keys import Keys
from bot.redis_topology import effective_url, parse_sentinels, wait_replicas, with_password
from bot.settings import load_settings


def test_sentinels_parse_hosts_and_ports() -> None:
    assert parse_sentinels("127.0.0.1:26379, [::1]:26380,") == (("127.0.0.1", 26379), ("::1", 26380))


@pytest.mark.parametrize("bad", ["", "127.0.0.1", "127.0.0.1:x", ":26379", "127.0.0.1:70000"])
def test_a_bad_sentinel_entry_is_named(bad: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_sentinels(bad)
    assert raised.value.fields == ["REDIS_SENTINELS"]


def test_cluster_urls() -> None:
    assert cluster_url("redis+cluster://:pw@127.0.0.1:7000/0") == "redis://:pw@127.0.0.1:7000/0"
    assert cluster_url("rediss+cluster://127.0.0.1:7000") == "rediss://127.0.0.1:7000"
    assert cluster_url("redis://127.0.0.1:6379") is None
    flagged = load_settings(redis_url="redis://127.0.0.1:7000", redis_cluster=True)
    assert effective_url(flagged) == "redis+cluster://127.0.0.1:7000"
    assert effective_url(load_settings(redis_url="redis://127.0.0.1:6379")) == "redis://127.0.0.1:6379"
    with pytest.raises(ConfigError):
        effective_url(load_settings(redis_cluster=True))
    with pytest.raises(ConfigError):
        effective_url(load_settings(redis_url="unix:///tmp/redis.sock", redis_cluster=True))


def test_the_replica_wait_defaults_to_one_with_sentinel_only() -> None:
    assert wait_replicas(load_settings()) == 0
    assert wait_replicas(load_settings(redis_sentinels="127.0.0.1:26379")) == 1
    assert wait_replicas(load_settings(redis_sentinels="127.0.0.1:26379", redis_wait_replicas=0)) == 0
    assert wait_replicas(load_settings(redis_wait_replicas=2)) == 2
    with pytest.raises(ConfigError):
        load_settings(timer_shards=0)


@pytest.mark.parametrize("timer_id", ["t", "esc:INC-7:level-2", "job:INC-12:sp-builtin-open-0", "approval:abc"])
def test_every_key_of_one_timer_script_is_in_one_slot(timer_id: str) -> None:
    keys = Keys("rb", timer_shards=8)
    shard = keys.timer_shard(timer_id)
    slots = {
        key_slot(k.encode())
        for k in (
            keys.timers_due(shard),
            keys.timers_leased(shard),
            keys.timer(timer_id),
            keys.timer_fired(timer_id, "g1"),
            keys.timer_record_prefix(shard) + timer_id,
            keys.timer_fired_prefix(shard) + f"{timer_id}:g1",
        )
    }
    assert len(slots) == 1
    assert keys.timer(timer_id) == keys.timer_record_prefix(shard) + timer_id


def test_shards_spread_timers_and_are_stable() -> None:
    keys = Keys("rb", timer_shards=8)
    shards = [keys.timer_shard(f"esc:INC-{n}:level-1") for n in range(400)]
    assert set(shards) == set(range(8))
    assert shards == [Keys("other", timer_shards=8).timer_shard(f"esc:INC-{n}:level-1") for n in range(400)]
    assert {key_slot(keys.timers_due(s).encode()) for s in range(8)}.__len__() == 8


def test_the_password_setting_fills_a_url_without_one() -> None:
    assert with_password("redis://127.0.0.1:6379/0", "p@ss/w") == "redis://:p%40ss%2Fw@127.0.0.1:6379/0"
    assert with_password("redis+cluster://127.0.0.1:7000", "pw") == "redis+cluster://:pw@127.0.0.1:7000"
    assert with_password("redis://:own@127.0.0.1:6379/0", "pw") == "redis://:own@127.0.0.1:6379/0"
    assert with_password("redis://127.0.0.1:6379/0", None) == "redis://127.0.0.1:6379/0"
