"""The built-in `/incident` subcommands."""

from __future__ import annotations

from bot.alerts import utcnow
from bot.errors import IncidentNotFound, InvalidInput
from bot.incidents.models import EventType, Incident, Status, TimelineEvent
from bot.incidents.updates import split_status
from bot.policy.access import commander_action
from bot.slack.access_gate import gate_of
from bot.slack.comm_status import COMM_STATUS_ACTION, apply_comm_status, pop_comm_word
from bot.slack.commands import CommandContext, help_text, is_incident_id, subcommand
from bot.slack.declare import declare_from_command, declare_with_flags
from bot.slack.escalation_listeners import acknowledge_text
from bot.slack.escape import escape_keeping_mentions, escape_text
from bot.slack.invites import invite_responders
from bot.slack.people import people_of
from bot.slack.update_modal import open_update_modal
from bot.slack.updates import updates_of


async def target_incident(ctx: CommandContext, action: str | None = None) -> Incident:
    """The incident named in the first argument, else the one whose channel this is, once access allows it.

    Every subcommand that acts on an incident finds it here, so the access policy is asked for each of them.
    """
    store = ctx.services.store
    if ctx.args and is_incident_id(ctx.args[0]):
        incident = await store.get_incident_or_raise(ctx.args.pop(0).upper())
    else:
        found = await store.find_by_channel(ctx.channel_id)
        if found is None:
            raise IncidentNotFound("this is not an incident channel: run it in one, or name the incident (`INC-42`)")
        incident = found
    await gate_of(ctx.services).require(ctx.user_id, action or ctx.name, incident, ctx.channel_id)
    return incident


async def _move(ctx: CommandContext, target: Status, verb: str) -> str:
    incident = await target_incident(ctx)
    updated = await ctx.services.store.transition(incident.id, target, actor=ctx.user_id)
    ctx.services.tasks.spawn(ctx.services.notifier.incident_updated(updated), "header", updated.id)
    if not updated.is_active:
        ctx.services.tasks.spawn(ctx.services.flows.incident_ended(updated), "stop-escalation", updated.id)
    return f"{updated.id} {verb} by <@{ctx.user_id}>."


@subcommand("help", "help", "list the commands")
async def handle_help(ctx: CommandContext) -> str:
    """Reply with the registry's help."""
    await gate_of(ctx.services).require(ctx.user_id, "help", None, ctx.channel_id)
    return help_text()


@subcommand(
    "new",
    'new "<title>" [--service S] [--severity P1-P4] [--env E]',
    "open an incident by hand (a protected --env needs an incident admin or the service's on-call)",
)
async def handle_new(ctx: CommandContext) -> str:
    """Open an incident and its channel; with no title, open the declare form."""
    if not ctx.args and not ctx.flags:
        return await declare_from_command(ctx)
    return await declare_with_flags(ctx)


@subcommand(
    "status",
    "status [INC-n] [investigating|identified|monitoring|resolved]",
    "show the incident's state; with a word, set the communication status",
)
async def handle_status(ctx: CommandContext) -> str:
    """Summarise the incident; with a status word, set the communication status."""
    word = pop_comm_word(ctx.args)
    i = await target_incident(ctx, COMM_STATUS_ACTION if word else None)
    if word is not None:
        return await apply_comm_status(ctx.services, i, word, ctx.user_id)
    commander = f"<@{i.commander}>" if i.commander else "unassigned"
    return (
        f"*{i.id}* {escape_text(i.title)}\nstatus *{i.status.value}* · {i.severity.value} · "
        f"service {escape_text(i.service)} · commander {commander} · "
        f"alerts {i.alerts_firing} firing / {i.alerts_resolved} resolved" + (" · automation paused" if i.paused else "")
    )


@subcommand("ack", "ack [INC-n]", "acknowledge: stops the escalation")
async def handle_ack(ctx: CommandContext) -> str:
    """Acknowledge the incident and stop its escalation at once."""
    if ctx.services.flows.escalation is None:
        return await _move(ctx, Status.ACKNOWLEDGED, "acknowledged")
    incident = await target_incident(ctx)
    return await acknowledge_text(ctx.services, incident.id, ctx.user_id)


@subcommand("mitigating", "mitigating [INC-n]", "mark that a fix is under way")
async def handle_mitigating(ctx: CommandContext) -> str:
    """Move to mitigating."""
    return await _move(ctx, Status.MITIGATING, "is being mitigated")


@subcommand("resolve", "resolve [INC-n]", "mark resolved")
async def handle_resolve(ctx: CommandContext) -> str:
    """Resolve the incident."""
    return await _move(ctx, Status.RESOLVED, "resolved")


@subcommand("commander", "commander @user [INC-n]", "hand the incident to a commander")
async def handle_commander(ctx: CommandContext) -> str:
    """Assign the commander."""
    # Everything before an optional trailing INC-n names the person: `@carol`, `@Carol Tanaka`, `<@U…>`, an email.
    incident_arg = [ctx.args.pop()] if ctx.args and is_incident_id(ctx.args[-1]) else []
    typed = " ".join(ctx.args)
    if not typed:
        raise InvalidInput("name the commander: `/incident commander @alice`", ["user"])
    user = await people_of(ctx.services).resolve(typed)
    ctx.args[:] = incident_arg
    incident = await target_incident(ctx, commander_action(ctx.user_id, user))

    def assign(i: Incident) -> list[TimelineEvent]:
        old = i.commander
        i.commander = user
        i.commander_set_by, i.commander_set_at = ctx.user_id, utcnow()
        return [TimelineEvent(EventType.FIELD, i.id, f"commander → <@{user}>", ctx.user_id, {"old": old, "new": user})]

    updated = await ctx.services.store.update_incident(incident.id, assign)
    ctx.services.tasks.spawn(ctx.services.notifier.incident_updated(updated), "header", updated.id)
    await invite_responders(ctx.services.gateway, updated.channel_id, [user])
    return f"<@{user}> is now commander of {updated.id}."


@subcommand(
    "update",
    "update [investigating|identified|monitoring|resolved:] <text> [--publish]",
    "post a status update; --publish also sends it to the incidents channel thread and the status page",
)
async def handle_update(ctx: CommandContext) -> str:
    """Record and post a status update, published to stakeholders with --publish; without text, open the form."""
    incident = await target_incident(ctx)
    if not ctx.args:
        return await open_update_modal(ctx, incident)
    status, text = split_status(" ".join(ctx.args))
    if not text:
        raise InvalidInput("write the update: `/incident update identified: rolled back --publish`", ["text"])
    publish = "publish" in ctx.flags
    await updates_of(ctx.services).publish_update_flow(incident.id, ctx.user_id, status, text, publish)
    ctx.services.tasks.spawn(ctx.services.notifier.incident_updated(incident), "header", incident.id)
    return f"Update recorded on {incident.id}" + (" and published." if publish else ".")


async def _set_paused(ctx: CommandContext, paused: bool) -> str:
    incident = await target_incident(ctx)
    verb = "paused" if paused else "resumed"

    def set_flag(i: Incident) -> list[TimelineEvent]:
        i.paused = paused
        return [TimelineEvent(EventType.FIELD, i.id, f"automation {verb}", ctx.user_id, {"paused": paused})]

    updated = await ctx.services.store.update_incident(incident.id, set_flag)
    ctx.services.tasks.spawn(ctx.services.notifier.incident_updated(updated), "header", updated.id)
    return f"Automation {verb} on {updated.id}: " + ("no action will run." if paused else "actions may run again.")


@subcommand("pause", "pause [INC-n]", "kill switch: no action runs on this incident")
async def handle_pause(ctx: CommandContext) -> str:
    """Pause automation on the incident."""
    return await _set_paused(ctx, True)


@subcommand("resume", "resume [INC-n]", "lift the kill switch")
async def handle_resume(ctx: CommandContext) -> str:
    """Resume automation on the incident."""
    return await _set_paused(ctx, False)


@subcommand("timeline", "timeline [INC-n]", "the last 20 timeline events")
async def handle_timeline(ctx: CommandContext) -> str:
    """Show the tail of the timeline."""
    incident = await target_incident(ctx)
    events = (await ctx.services.store.read_timeline(incident.id))[-20:]
    lines = [f"`{e.at:%H:%M:%S}` {escape_keeping_mentions(e.headline())}" for e in events]
    return f"*{incident.id} timeline*\n" + "\n".join(lines)


@subcommand("list", "list", "open incidents")
async def handle_list(ctx: CommandContext) -> str:
    """List incidents that are not closed."""
    # No incident to target: asked here so that a file restricting `list` is obeyed too.
    await gate_of(ctx.services).require(ctx.user_id, "list", None, ctx.channel_id)
    incidents = await ctx.services.store.list_open_incidents()
    if not incidents:
        return "No open incidents."
    return "\n".join(
        f"• *{i.id}* {i.severity.value} {i.status.value} — {escape_text(i.title)}"
        + (f" <#{i.channel_id}>" if i.channel_id else "")
        for i in incidents
    )
