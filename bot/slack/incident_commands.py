"""The built-in `/incident` subcommands."""

from __future__ import annotations

from bot.alerts import Severity, utcnow
from bot.errors import IncidentNotFound, InvalidInput
from bot.incidents.models import EventType, Incident, Status, TimelineEvent
from bot.incidents.postmortem import draft_postmortem
from bot.incidents.updates import split_status
from bot.policy.access import DECLARE, DECLARE_PROTECTED, commander_action
from bot.slack.access_gate import gate_of
from bot.slack.commands import CommandContext, help_text, is_incident_id, subcommand
from bot.slack.escalation_listeners import acknowledge_text
from bot.slack.escape import escape_keeping_mentions, escape_text, split_text
from bot.slack.invites import invite_responders
from bot.slack.people import people_of
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
    """Open an incident and its channel."""
    title = " ".join(ctx.args).strip()
    if not title:
        raise InvalidInput('give the incident a title: `/incident new "checkout errors" --severity P2`', ["title"])
    severity = ctx.flags.get("severity", "P3").upper()
    if severity not in Severity.__members__:
        raise InvalidInput(f"severity must be P1, P2, P3 or P4, not {severity!r}", ["severity"])
    service = ctx.flags.get("service", "unknown")
    environment = ctx.flags.get("env", ctx.services.settings.environment)
    gate = gate_of(ctx.services)
    action = DECLARE_PROTECTED if gate.policy().is_protected(environment) else DECLARE
    await gate.require(ctx.user_id, action, None, ctx.channel_id, service=service)
    incident = await ctx.services.store.create_incident(
        title,
        service=service,
        severity=severity,
        environment=environment,
        commander=ctx.user_id,
        commander_set_by=ctx.user_id,
        source="slack",
    )
    await ctx.services.flows.open_manual_incident(incident)
    return f"Opening {incident.id}: {escape_text(title)} — the channel follows in a moment."


@subcommand("status", "status [INC-n]", "show the incident's state")
async def handle_status(ctx: CommandContext) -> str:
    """Summarise the incident."""
    i = await target_incident(ctx)
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


@subcommand("close", "close [INC-n]", "close a resolved incident")
async def handle_close(ctx: CommandContext) -> str:
    """Close the incident."""
    return await _move(ctx, Status.CLOSED, "closed")


@subcommand("reopen", "reopen [INC-n]", "reopen a resolved or closed incident")
async def handle_reopen(ctx: CommandContext) -> str:
    """Reopen the incident."""
    return await _move(ctx, Status.TRIGGERED, "reopened")


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
    """Record and post a status update, published to stakeholders with --publish."""
    incident = await target_incident(ctx)
    status, text = split_status(" ".join(ctx.args))
    if not text:
        raise InvalidInput("write the update: `/incident update identified: rolled back --publish`", ["text"])
    publish = "publish" in ctx.flags
    await updates_of(ctx.services).publish_update_flow(incident.id, ctx.user_id, status, text, publish)
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


@subcommand("postmortem", "postmortem [INC-n]", "post a post-mortem draft from the timeline")
async def handle_postmortem(ctx: CommandContext) -> str:
    """Draft the post-mortem and post it in the incident channel."""
    incident = await target_incident(ctx)
    store = ctx.services.store
    draft = draft_postmortem(incident, await store.read_timeline(incident.id), await store.read_audit(incident.id))
    if not incident.channel_id:
        return draft
    for part in split_text(draft, 3500):
        await ctx.services.gateway.post_message(incident.channel_id, f"```{escape_text(part)}```")
    return f"Post-mortem draft for {incident.id} posted; `runbookctl postmortem {incident.id}` prints it as Markdown."
