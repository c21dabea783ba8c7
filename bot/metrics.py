"""Prometheus metrics of the bot; exposed at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

SLACK_CALLS = Counter(
    "runbook_slack_api_calls_total",
    "Slack Web API calls by method and outcome",
    ["method", "outcome"],
    registry=REGISTRY,
)
SLACK_RATE_LIMITED = Counter(
    "runbook_slack_rate_limited_total", "HTTP 429 answers from Slack, honoured", ["method"], registry=REGISTRY
)
SLACK_OUTBOX_DEPTH = Gauge("runbook_slack_outbox_depth", "Slack calls waiting in the outbox", registry=REGISTRY)
SLACK_OUTBOX_RESTARTS = Counter(
    "runbook_slack_outbox_restarts_total", "Slack outbox worker restarts after it died", registry=REGISTRY
)
SLACK_SHARED_BUDGET_FALLBACKS = Counter(
    "runbook_slack_shared_budget_fallbacks_total",
    "Redis errors or timeouts of the shared Slack budget; the replica used its own limits meanwhile",
    registry=REGISTRY,
)
SLACK_SHARED_BUDGET_DEGRADED = Gauge(
    "runbook_slack_shared_budget_degraded", "1 while the shared Slack budget is unreachable", registry=REGISTRY
)
ALERTS_RECEIVED = Counter(
    "runbook_alerts_received_total", "Alerts received by source and outcome", ["source", "outcome"], registry=REGISTRY
)
INCIDENTS_OPENED = Counter("runbook_incidents_opened_total", "Incidents opened", ["service"], registry=REGISTRY)
DIAGNOSTICS = Counter(
    "runbook_diagnostics_total", "Diagnostic steps run by hook and verdict", ["hook", "verdict"], registry=REGISTRY
)
DIAGNOSTIC_SECONDS = Histogram("runbook_diagnostic_seconds", "Diagnostic step duration", ["hook"], registry=REGISTRY)
STEPS_EXECUTED = Counter(
    "runbook_steps_executed_total", "Remediation steps executed", ["service", "action", "result"], registry=REGISTRY
)
APPROVAL_SECONDS = Histogram(
    "runbook_approval_latency_seconds",
    "Time from a step being offered to its approval",
    ["action"],
    buckets=(5, 15, 30, 60, 120, 300, 900, 3600),
    registry=REGISTRY,
)
REFUSALS = Counter("runbook_refusals_total", "Refused approvals by reason", ["reason"], registry=REGISTRY)
ACK_SECONDS = Histogram(
    "runbook_socket_ack_seconds", "Time to acknowledge a Socket Mode envelope", ["type"], registry=REGISTRY
)

DEAD_LETTERS = Gauge(
    "runbook_bot_dead_letters", "Durable jobs past their failure threshold, still undelivered", registry=REGISTRY
)
DELIVERIES = Counter(
    "runbook_bot_page_deliveries_total",
    "Page deliveries by channel and outcome",
    ["channel", "outcome"],
    registry=REGISTRY,
)

TIMERS_FIRED = Counter(
    "runbook_timers_fired_total",
    "Durable timer handlers run, by kind and outcome: ok, failed (retried), dropped (out of attempts), lease_lost",
    ["kind", "outcome"],
    registry=REGISTRY,
)
TIMER_LATENESS = Histogram(
    "runbook_timer_lateness_seconds",
    "Time from a timer's due time to its handler starting, first attempts only",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)


def render() -> bytes:
    """The metrics in Prometheus text exposition format."""
    return generate_latest(REGISTRY)


HTTP_CONNECTIONS_OPEN = Gauge(
    "runbook_http_connections_open", "Connections open on the webhook and health server", registry=REGISTRY
)
HTTP_CONNECTIONS_SHED = Counter(
    "runbook_http_connections_shed_total",
    "Connections closed by the server's guard: header_timeout, evicted (a slow client made room) or full",
    ["reason"],
    registry=REGISTRY,
)

# Incident lifecycle timings, from the incident's trigger; a reopened incident is measured again when it moves.
_LIFECYCLE_BUCKETS = (60, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200)
TIME_TO_ACKNOWLEDGE = Histogram(
    "runbook_incident_time_to_acknowledge_seconds",
    "Time from an incident's trigger to its acknowledgement",
    ["service", "severity"],
    buckets=_LIFECYCLE_BUCKETS,
    registry=REGISTRY,
)
TIME_TO_MITIGATE = Histogram(
    "runbook_incident_time_to_mitigate_seconds",
    "Time from an incident's trigger to the move to mitigating",
    ["service", "severity"],
    buckets=_LIFECYCLE_BUCKETS,
    registry=REGISTRY,
)
TIME_TO_RESOLVE = Histogram(
    "runbook_incident_time_to_resolve_seconds",
    "Time from an incident's trigger to its resolution",
    ["service", "severity"],
    buckets=_LIFECYCLE_BUCKETS,
    registry=REGISTRY,
)
INCIDENTS_OPEN = Gauge(
    "runbook_incidents_open",
    "Incidents triggered, acknowledged or mitigating, by severity; read from the shared store at scrape time "
    "(every replica reports the same value: aggregate with max, not sum)",
    ["severity"],
    registry=REGISTRY,
)
