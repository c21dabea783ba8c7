"""Which store and prefix runbookctl's store commands read: the sandbox's state file, unless REDIS_PREFIX says."""

from __future__ import annotations

import os
from pathlib import Path

from bot.cli.stored import source_of
from bot.sandbox.statefile import SandboxState, read_state, write_state
from bot.settings import load_settings

DEAD_PID = 2**22 + 12345  # above the default pid_max: no such process


def test_without_a_state_file_the_settings_are_read(tmp_path: Path) -> None:
    source = source_of(load_settings(runbook_bot_data_dir=tmp_path, redis_prefix="rb"), {})
    assert (source.redis_url, source.prefix, source.note) == (None, "rb", "")


def test_a_running_sandbox_is_read_through_its_own_store(tmp_path: Path) -> None:
    write_state(tmp_path, SandboxState(os.getpid(), "redis://127.0.0.1:16400", "sandbox", embedded=True))
    source = source_of(load_settings(runbook_bot_data_dir=tmp_path), {})
    assert (source.redis_url, source.prefix) == ("redis://127.0.0.1:16400", "sandbox")
    assert "key prefix 'sandbox'" in source.note and "REDIS_PREFIX" in source.note


def test_a_stopped_sandboxs_embedded_store_is_started_again_on_its_files(tmp_path: Path) -> None:
    write_state(tmp_path, SandboxState(DEAD_PID, "redis://127.0.0.1:16400", "sandbox", embedded=True))
    source = source_of(load_settings(runbook_bot_data_dir=tmp_path), {})
    assert (source.redis_url, source.prefix) == (None, "sandbox")


def test_redis_prefix_in_the_environment_wins(tmp_path: Path) -> None:
    write_state(tmp_path, SandboxState(os.getpid(), "redis://127.0.0.1:16400", "sandbox", embedded=True))
    source = source_of(load_settings(runbook_bot_data_dir=tmp_path, redis_prefix="prod"), {"REDIS_PREFIX": "prod"})
    assert (source.prefix, source.note) == ("prod", "")


def test_a_broken_state_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "sandbox.json").write_text("{not json")
    assert read_state(tmp_path) is None
