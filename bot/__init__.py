"""runbook-bot: a Slack chat-ops bot for incident response."""

__version__ = "0.1.0"
