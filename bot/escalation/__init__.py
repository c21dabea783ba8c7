"""Escalation policies, on-call schedules and durable timers (Slack-free)."""
