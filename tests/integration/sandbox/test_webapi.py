"""The Web API through the unchanged slack-sdk AsyncWebClient: Slack's validation and membership rules."""

from __future__ import annotations

import json

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import SlackEmulator


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return str(info.value.response["error"])


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("Inc-Upper", "invalid_name_specials"),
        ("inc 42", "invalid_name_specials"),
        ("inc.42", "invalid_name_specials"),
        ("café", "invalid_name_specials"),
        ("a" * 81, "invalid_name_maxlength"),
        ("---", "invalid_name_punctuation"),
    ],
)
async def test_channel_create_rejects_bad_names(web: AsyncWebClient, name: str, error: str) -> None:
    assert await error_of(web.conversations_create(name=name)) == error


async def test_channel_name_of_80_chars_is_accepted_and_taken_even_when_archived(web: AsyncWebClient) -> None:
    name = "inc-" + "x" * 76
    created = await web.conversations_create(name=name)
    assert created["channel"]["name"] == name and created["channel"]["is_member"] is True
    assert await error_of(web.conversations_create(name=name)) == "name_taken"
    await web.conversations_archive(channel=created["channel"]["id"])
    assert await error_of(web.conversations_create(name=name)) == "name_taken"
    assert await error_of(web.chat_postMessage(channel=created["channel"]["id"], text="late")) == "is_archived"


@pytest.mark.parametrize(
    "blocks",
    [
        [{"type": "section", "text": {"type": "mrkdwn", "text": f"line {i}"}} for i in range(51)],
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        [
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "a" * 256}],
            }
        ],
        [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Go"},
                        "action_id": "go",
                        "value": "v" * 2001,
                    }
                ],
            }
        ],
        [{"type": "no_such_block"}],
        [{"type": "section"}],
    ],
)
async def test_invalid_blocks_are_rejected(web: AsyncWebClient, blocks: list[dict[str, object]]) -> None:
    with pytest.raises(SlackApiError) as info:
        await web.chat_postMessage(channel="#incidents", text="fallback", blocks=blocks)
    assert info.value.response["error"] == "invalid_blocks"
    assert info.value.response["errors"]


async def test_blocks_as_json_string_in_a_form_field(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    channel = emulator.channel("incidents").id
    good = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}])
    posted = await web.api_call("chat.postMessage", data={"channel": channel, "text": "hi", "blocks": good})
    assert posted["message"]["blocks"][0]["text"]["text"] == "*hello*"
    assert posted["message"]["blocks"][0]["block_id"]  # Slack assigns one when missing
    bad = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}])
    assert (
        await error_of(web.api_call("chat.postMessage", data={"channel": channel, "blocks": bad})) == "invalid_blocks"
    )


async def test_posting_needs_membership(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    general = emulator.channel("general").id
    assert await error_of(web.chat_postMessage(channel=general, text="hello")) == "not_in_channel"
    assert await error_of(web.conversations_setTopic(channel=general, topic="t")) == "not_in_channel"
    await web.conversations_join(channel=general)
    posted = await web.chat_postMessage(channel=general, text="hello")
    assert emulator.message("general", posted["ts"]).text == "hello"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_message_rules(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    assert await error_of(web.chat_postMessage(channel="C0NOPE", text="x")) == "channel_not_found"
    assert await error_of(web.chat_postMessage(channel="#incidents")) == "no_text"
    assert await error_of(web.chat_postMessage(channel="#incidents", text="x" * 40_001)) == "msg_too_long"
    assert await error_of(web.chat_update(channel=emulator.channel("incidents").id, ts="1.000001", text="x")) == (
        "message_not_found"
    )


async def test_update_keeps_edit_history_and_ts_are_unique(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    channel = emulator.channel("incidents").id
    stamps = [(await web.chat_postMessage(channel=channel, text=f"m{i}"))["ts"] for i in range(20)]
    assert len(set(stamps)) == 20 and stamps == sorted(stamps)
    await web.chat_update(channel=channel, ts=stamps[0], text="edited")
    message = emulator.message("incidents", stamps[0])
    assert message.text == "edited" and [e.text for e in message.edits] == ["m0"]
    history = await web.conversations_history(channel=channel, limit=5)
    assert [m["text"] for m in history["messages"]] == ["m19", "m18", "m17", "m16", "m15"] and history["has_more"]


async def test_auth_errors(emulator: SlackEmulator) -> None:
    assert await error_of(AsyncWebClient(token="xoxb-wrong", base_url=emulator.api_url).auth_test()) == "invalid_auth"
    assert await error_of(AsyncWebClient(base_url=emulator.api_url).auth_test()) == "not_authed"
    bot = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
    assert await error_of(bot.apps_connections_open(app_token=emulator.bot_token)) == "not_allowed_token_type"
    opened = await bot.apps_connections_open(app_token=emulator.app_token)
    assert opened["url"].startswith("ws://") and "ticket=" in opened["url"]


async def test_invite_reports_already_in_channel_like_slack(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    channel = (await web.conversations_create(name="inc-7-invite"))["channel"]["id"]
    await web.conversations_invite(channel=channel, users=["U0ALICE001"])
    with pytest.raises(SlackApiError) as info:
        await web.conversations_invite(channel=channel, users=["U0ALICE001", "U0BOB00001"])
    assert info.value.response["error"] == "already_in_channel"
    assert info.value.response["errors"] == [{"user": "U0ALICE001", "ok": False, "error": "already_in_channel"}]
    assert "U0BOB00001" not in emulator.channel(channel).members  # all or nothing without force
    forced = await web.conversations_invite(channel=channel, users=["U0ALICE001", "U0BOB00001"], force=True)
    assert forced["ok"] and "U0BOB00001" in emulator.channel(channel).members
    assert await error_of(web.conversations_invite(channel=channel, users=["U0NOBODY"])) == "user_not_found"


async def test_people_groups_dms_pins_bookmarks_reactions(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    assert (await web.users_lookupByEmail(email="carol@example.com"))["user"]["id"] == "U0CAROL001"
    assert await error_of(web.users_lookupByEmail(email="nobody@example.com")) == "users_not_found"
    assert (await web.usergroups_users_list(usergroup="S0ONCALL01"))["users"] == ["U0ALICE001", "U0BOB00001"]
    dm = (await web.conversations_open(users="U0DAVE0001"))["channel"]["id"]
    await web.chat_postMessage(channel=dm, text="you are paged")
    assert emulator.dm("dave") is not None and emulator.messages(dm)[0].text == "you are paged"
    channel = (await web.conversations_create(name="inc-8-extras"))["channel"]["id"]
    ts = (await web.chat_postMessage(channel=channel, text="summary"))["ts"]
    await web.pins_add(channel=channel, timestamp=ts)
    await web.bookmarks_add(channel_id=channel, title="Runbook", type="link", link="https://example.com/rb")
    await web.reactions_add(channel=channel, timestamp=ts, name="eyes")
    await web.conversations_setTopic(channel=channel, topic="SEV1 payments")
    record = emulator.channel("inc-8-extras")
    assert record.pins == [ts] and record.bookmarks[0].title == "Runbook" and record.topic == "SEV1 payments"
    assert emulator.message(channel, ts).reactions == {"eyes": [emulator.bot_user_id]}
    link = (await web.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
    assert link.endswith("/p" + ts.replace(".", ""))
    assert [c.method for c in emulator.calls()][-2:] == ["conversations.setTopic", "chat.getPermalink"]


async def test_plain_http_query_string_and_call_log(emulator: SlackEmulator) -> None:
    headers = {"Authorization": f"Bearer {emulator.bot_token}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(emulator.api_url + "users.info?user=U0ALICE001", headers=headers) as response:
            body = await response.json()
        async with session.post(emulator.api_url + "chat.nonsense", headers=headers) as response:
            unknown = await response.json()
    assert body["user"]["name"] == "alice"
    assert unknown == {"ok": False, "error": "unknown_method"}
    call = emulator.calls("users.info")[0]
    assert call.args == {"user": "U0ALICE001"} and call.status == 200 and call.ok
