"""`<data dir>/sandbox.json`: where a running (or the last) sandbox keeps its data, for `runbookctl` to find."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

SANDBOX_PREFIX = "sandbox"
FILE_NAME = "sandbox.json"


@dataclass(frozen=True)
class SandboxState:
    """The sandbox's process, store and addresses."""

    pid: int
    redis_url: str
    prefix: str
    embedded: bool
    webhook_url: str = ""
    page_url: str = ""

    def running(self) -> bool:
        """Whether the process that wrote the file is still alive."""
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def state_path(data_dir: Path) -> Path:
    """Where the file lives."""
    return Path(data_dir) / FILE_NAME


def write_state(data_dir: Path, state: SandboxState) -> None:
    """Write atomically (a reader never sees half a file)."""
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(asdict(state), indent=2) + "\n")
    partial.replace(path)


def read_state(data_dir: Path) -> SandboxState | None:
    """The file's content, or None when there is none or it cannot be read."""
    try:
        raw = json.loads(state_path(data_dir).read_text())
        return SandboxState(**raw)
    except (OSError, ValueError, TypeError):
        return None
