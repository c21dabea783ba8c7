"""Files (upload v2) and canvases of the emulated workspace, as stored.

Upload v2 is three steps: `files.getUploadURLExternal` hands out a file id and an upload URL (here on
the emulator's own loopback address), the client POSTs the bytes there, and
`files.completeUploadExternal` shares the file, optionally into a channel with a comment. Canvases can
be switched off per workspace (`canvases_enabled`), as on plans without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class UploadedFile:
    """A file: announced, then uploaded, then completed (shared)."""

    id: str
    filename: str
    length: int
    title: str = ""
    content: bytes | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)


@dataclass
class Canvas:
    """A canvas: its Markdown as last written, and the channel it belongs to (channel canvases)."""

    id: str
    channel_id: str | None
    markdown: str
    edits: int = 0


@dataclass
class Documents:
    """Every file and canvas, and whether this workspace may create canvases."""

    canvases_enabled: bool = True
    upload_base: str = ""
    files: dict[str, UploadedFile] = field(default_factory=dict)
    canvases: dict[str, Canvas] = field(default_factory=dict)

    def channel_canvas(self, channel_id: str) -> Canvas | None:
        """The channel's canvas, if it has one."""
        return next((c for c in self.canvases.values() if c.channel_id == channel_id), None)
