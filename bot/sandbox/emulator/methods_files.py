"""files.* upload v2 and canvas Web API methods, with the upload URL served by the emulator itself."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox.emulator.args import Args, Handler
from bot.sandbox.emulator.doc_records import Canvas, UploadedFile
from bot.sandbox.emulator.errors import SlackApiFailure
from bot.sandbox.emulator.methods_conversations import visible_channel, writable_channel
from bot.sandbox.emulator.state import Workspace, random_id

# What Slack answers on a plan without canvases.
CANVASES_OFF = "team_tier_cannot_create_channel_canvases"


def get_upload_url(ws: Workspace, args: Args) -> dict[str, Any]:
    """files.getUploadURLExternal: a file id and where to POST its bytes."""
    filename = args.required("filename")
    length = args.number("length", 0)
    if length <= 0:
        raise SlackApiFailure("invalid_arguments")
    upload = UploadedFile(random_id("F"), filename, length)
    ws.documents.files[upload.id] = upload
    return {"upload_url": f"{ws.documents.upload_base}/upload/{upload.id}", "file_id": upload.id}


def complete_upload(ws: Workspace, args: Args) -> dict[str, Any]:
    """files.completeUploadExternal: every listed file must be uploaded; shared into channel_id when given."""
    listed = args.json("files")
    if not isinstance(listed, list) or not listed or not all(isinstance(f, dict) and f.get("id") for f in listed):
        raise SlackApiFailure("invalid_arguments")
    uploads = []
    for item in listed:
        upload = ws.documents.files.get(str(item["id"]))
        if upload is None or upload.content is None or upload.completed:
            raise SlackApiFailure("file_not_found")
        if len(upload.content) != upload.length:
            raise SlackApiFailure("file_size_mismatch")
        uploads.append((upload, str(item.get("title") or upload.filename)))
    channel = writable_channel(ws, args, "channel_id") if args.text("channel_id") else None
    shared = []
    for upload, title in uploads:
        upload.completed, upload.title = True, title
        shared.append(_file_object(ws, upload))
    if channel is not None:
        for upload, _ in uploads:
            upload.channels.append(channel.id)
        ws.post_as_bot(
            channel, text=args.text("initial_comment") or "", files=shared, thread_ts=args.text("thread_ts") or None
        )
    return {"files": shared}


def _file_object(ws: Workspace, upload: UploadedFile) -> dict[str, Any]:
    return {
        "id": upload.id,
        "name": upload.filename,
        "title": upload.title,
        "size": upload.length,
        "permalink": f"https://{ws.team_domain}.slack.com/files/{ws.bot_user_id}/{upload.id}/{upload.filename}",
    }


def _markdown(args: Args, name: str) -> str:
    content = args.json(name)
    if not isinstance(content, dict) or content.get("type") != "markdown":
        raise SlackApiFailure("invalid_arguments")
    if not isinstance(content.get("markdown"), str):
        raise SlackApiFailure("invalid_arguments")
    return str(content["markdown"])


def create_channel_canvas(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.canvases.create: one canvas per channel; refused where canvases are off."""
    if not ws.documents.canvases_enabled:
        raise SlackApiFailure(CANVASES_OFF)
    channel = writable_channel(ws, args, "channel_id")
    if ws.documents.channel_canvas(channel.id) is not None:
        raise SlackApiFailure("channel_canvas_already_exists")
    canvas = Canvas(random_id("F"), channel.id, _markdown(args, "document_content"))
    ws.documents.canvases[canvas.id] = canvas
    ws.notify()
    return {"canvas_id": canvas.id}


def edit_canvas(ws: Workspace, args: Args) -> dict[str, Any]:
    """canvases.edit: only whole-document `replace` is emulated."""
    canvas = ws.documents.canvases.get(args.required("canvas_id", "canvas_not_found"))
    if canvas is None:
        raise SlackApiFailure("canvas_not_found")
    changes = args.json("changes")
    if not isinstance(changes, list) or not changes:
        raise SlackApiFailure("invalid_arguments")
    for change in changes:
        if not isinstance(change, dict) or change.get("operation") != "replace" or "section_id" in change:
            raise SlackApiFailure("invalid_arguments")
        canvas.markdown = _markdown(Args(change), "document_content")
        canvas.edits += 1
    ws.notify()
    return {}


def unarchive(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.unarchive"""
    channel = visible_channel(ws, args)
    if channel.is_im or channel.is_mpim:
        raise SlackApiFailure("method_not_supported_for_channel_type")
    if not channel.is_archived:
        raise SlackApiFailure("not_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackApiFailure("not_in_channel")
    channel.is_archived = False
    return {}


def add_upload_routes(app: web.Application, ws: Workspace) -> None:
    """POST /upload/<file id>: where upload URLs point; the body is the file's bytes."""

    async def handle_upload(request: web.Request) -> web.Response:
        upload = ws.documents.files.get(request.match_info["file_id"])
        if upload is None or upload.completed:
            return web.Response(status=404, text="unknown or completed upload")
        upload.content = await request.read()
        ws.notify()
        return web.Response(status=200, text=f"OK - {len(upload.content)}")

    app.router.add_post("/upload/{file_id}", handle_upload)


HANDLERS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "conversations.canvases.create": create_channel_canvas,
    "canvases.edit": edit_canvas,
    "conversations.unarchive": unarchive,
}
