"""Files upload v2, channel canvases and unarchive through the unchanged slack-sdk AsyncWebClient."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.emulator.methods_files import CANVASES_OFF


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return str(info.value.response["error"])


async def test_files_upload_v2_shares_the_bytes_into_the_channel(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    channel = (await web.conversations_create(name="inc-files"))["channel"]["id"]
    content = "# Post-mortem\n\n| a | b |\n" + "é" * 10
    answer = await web.files_upload_v2(
        channel=channel, content=content, filename="pm.md", title="Post-mortem", initial_comment="draft"
    )
    shared = answer["file"]
    stored = emulator.workspace.documents.files[shared["id"]]
    assert stored.content == content.encode() and stored.completed and stored.channels == [channel]
    assert shared["title"] == "Post-mortem" and shared["permalink"].endswith("/pm.md")
    [message] = [m for m in emulator.messages(channel) if m.files]
    assert message.text == "draft" and message.files[0]["id"] == shared["id"]  # type: ignore[index]
    # The upload URL is the emulator's own, on loopback; a completed file cannot be completed again.
    url = await web.files_getUploadURLExternal(filename="x.md", length=3)
    assert str(url["upload_url"]).startswith(emulator.base_url + "/upload/")
    files = [{"id": shared["id"], "title": "again"}]
    assert await error_of(web.files_completeUploadExternal(files=files)) == "file_not_found"
    not_uploaded = [{"id": url["file_id"], "title": "x"}]
    assert await error_of(web.files_completeUploadExternal(files=not_uploaded)) == "file_not_found"
    assert await error_of(web.files_getUploadURLExternal(filename="x.md", length=0)) == "invalid_arguments"


async def test_channel_canvas_once_then_edit_and_switched_off(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    channel = (await web.conversations_create(name="inc-canvas"))["channel"]["id"]
    document = {"type": "markdown", "markdown": "# one"}
    canvas_id = (await web.conversations_canvases_create(channel_id=channel, document_content=document))["canvas_id"]
    again = web.conversations_canvases_create(channel_id=channel, document_content=document)
    assert await error_of(again) == "channel_canvas_already_exists"
    info = await web.conversations_info(channel=channel)
    assert info["channel"]["properties"]["canvas"]["file_id"] == canvas_id
    change = {"operation": "replace", "document_content": {"type": "markdown", "markdown": "# two"}}
    await web.canvases_edit(canvas_id=canvas_id, changes=[change])
    assert emulator.workspace.documents.canvases[canvas_id].markdown == "# two"
    assert await error_of(web.canvases_edit(canvas_id="F000", changes=[change])) == "canvas_not_found"
    bad = {"type": "html", "markdown": "x"}
    other = (await web.conversations_create(name="inc-canvas-2"))["channel"]["id"]
    assert await error_of(web.conversations_canvases_create(channel_id=other, document_content=bad)) == (
        "invalid_arguments"
    )
    emulator.workspace.documents.canvases_enabled = False
    assert await error_of(web.conversations_canvases_create(channel_id=other, document_content=document)) == (
        CANVASES_OFF
    )


async def test_unarchive_undoes_archive_and_posting_works_again(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    channel = (await web.conversations_create(name="inc-archive"))["channel"]["id"]
    assert await error_of(web.conversations_unarchive(channel=channel)) == "not_archived"
    await web.conversations_archive(channel=channel)
    assert await error_of(web.conversations_archive(channel=channel)) == "already_archived"
    assert await error_of(web.chat_postMessage(channel=channel, text="late")) == "is_archived"
    await web.conversations_unarchive(channel=channel)
    assert (await web.conversations_info(channel=channel))["channel"]["is_archived"] is False
    await web.chat_postMessage(channel=channel, text="back")
