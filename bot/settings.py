"""One settings object, read from the environment and an optional `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

SLACK_DEFAULT_API_URL = "https://slack.com/api/"


class Settings(BaseSettings):
    """Every knob of the bot; tokens are SecretStr and never printed."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_DEFAULT_API_URL
    slack_signing_secret: SecretStr | None = None
    # > 1 speeds up every Slack rate limit the gateway keeps to; only for drills against the emulator.
    slack_rate_scale: float = Field(default=1.0, gt=0)

    redis_url: str | None = None
    redis_prefix: str = "rb"
    runbook_bot_data_dir: Path = Path(".runbook-bot")
    runbooks_path: Path = Path("runbooks")

    webhook_token: SecretStr | None = None
    pagerduty_webhook_secret: SecretStr | None = None
    webhook_max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)

    environment: str = "dev"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"

    reopen_window_minutes: int = Field(default=30, ge=0)
    approval_lifetime_s: float = Field(default=120.0, gt=0)
    # How long a new incident may stay without its channel before another replica takes over provisioning.
    provision_retry_s: float = Field(default=60.0, gt=0)
    escalation_path: Path | None = None
    status_reminder_minutes: float = Field(default=30.0, gt=0)
    commander_reminder_minutes: float = Field(default=10.0, gt=0)
    timeline_max_len: int = Field(default=10_000, gt=0)
    audit_max_len: int = Field(default=1_000_000, gt=0)

    incidents_channel: str | None = None
    channel_name_template: str = "inc-{number}-{service}-{title}"
    private_channels: bool = False
    responder_usergroup: str | None = None

    # Hook targets. Runbooks name a target ("orders-db"); the address lives here, per deployment.
    shell_allowlist: list[str] = Field(default_factory=list)
    prometheus_urls: dict[str, str] = Field(default_factory=dict)
    loki_url: str | None = None
    database_dsns: dict[str, SecretStr] = Field(default_factory=dict)
    cache_urls: dict[str, SecretStr] = Field(default_factory=dict)
    kubernetes_api_url: str | None = None
    kubernetes_token: SecretStr | None = None
    kubeconfig: Path | None = None
    kubernetes_verify_tls: bool = True
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    pagerduty_routing_key: SecretStr | None = None
    opsgenie_api_url: str = "https://api.opsgenie.com/v2/alerts"
    opsgenie_api_key: SecretStr | None = None
    notify_webhook_url: str | None = None
    diagnostics_deadline_s: float = Field(default=60.0, gt=0)
    kill_switch: bool = False
    # Host globs (`host`, `host:port`) URLs built from alert data may reach; empty refuses them all.
    http_allowed_hosts: list[str] = Field(default_factory=list)
    # The HTTP server sheds slow and hostile clients: see docs/intake.md, "Hostile clients".
    http_header_timeout_s: float = Field(default=10.0, gt=0)
    webhook_body_timeout_s: float = Field(default=10.0, gt=0)
    http_max_connections: int = Field(default=512, gt=0)
    # Durable work (page deliveries, provisioning): retries back off exponentially with jitter up to the
    # cap and go on while the incident is open; past `dead_letter_after` failures they show as dead letters.
    delivery_retry_cap_s: float = Field(default=10.0, gt=0)
    provision_retry_cap_s: float = Field(default=10.0, gt=0)
    dead_letter_after: int = Field(default=5, ge=1)
    # The Slack gateway: a caller waits at most this long for one call (queueing, Retry-After and retries
    # included), one HTTP attempt at most slack_attempt_timeout_s, and 429s / refused connections are tried
    # at most slack_max_attempts times; then the caller gets an UpstreamError.
    slack_call_deadline_s: float = Field(default=120.0, gt=0)
    slack_attempt_timeout_s: float = Field(default=20.0, gt=0)
    slack_max_attempts: int = Field(default=5, ge=1)
    # An approved step's owner renews its lease every third of this; a lapsed lease means "outcome unknown: verify".
    execution_lease_s: float = Field(default=30.0, ge=1)
    # Status page (docs/statuspage.md): backends among "builtin" and "atlassian"; empty turns it off.
    status_page_backends: list[Literal["builtin", "atlassian"]] = Field(default_factory=list)
    status_page_config: Path | None = None
    statuspage_api_url: str = "https://api.statuspage.io/v1/"
    statuspage_page_id: str | None = None
    statuspage_api_key: SecretStr | None = None
    # Follow-up export (docs/followups.md): "", "github", "jira" or "linear".
    followup_tracker: Literal["", "github", "jira", "linear"] = ""
    github_api_url: str = "https://api.github.com"
    github_repo: str | None = None
    github_token: SecretStr | None = None
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_project_key: str | None = None
    jira_issue_type: str = "Task"
    linear_api_url: str = "https://api.linear.app/graphql"
    linear_api_key: SecretStr | None = None
    linear_team_id: str | None = None
    # Durable side-effect jobs (status-page writes, exports): attempts before a job is listed as failed.
    job_max_attempts: int = Field(default=12, ge=1)

    # Redis faults answer fast: every call is bounded, and a webhook answers 503 rather than hang.
    redis_socket_timeout_s: float = Field(default=5.0, gt=0)
    redis_connect_timeout_s: float = Field(default=2.0, gt=0)
    redis_health_check_s: float = Field(default=15.0, ge=0)
    redis_pool_timeout_s: float = Field(default=5.0, gt=0)
    webhook_deadline_s: float = Field(default=1.0, gt=0)
    # Seconds between checks of the runbook folder for added, changed or removed files (0: never reload).
    runbook_watch_s: float = Field(default=2.0, ge=0)
    # The reaction that adds a message of an incident channel to its timeline (name without colons).
    timeline_pin_emoji: str = Field(default="pushpin", min_length=1, max_length=100)

    # Closing: what `/incident close` asks for when missing (comma-separated: postmortem, followups; or none),
    # and how long after closing the channel is archived (a durable timer; 0 archives at once).
    close_requires: str = "postmortem,followups"
    archive_after_hours: float = Field(default=24.0, ge=0)
    # Grafana's webhook HMAC signature, an alternative to the bearer token (docs/intake.md, "Authentication").
    grafana_webhook_secret: SecretStr | None = None
    grafana_signature_header: str = "X-Grafana-Alerting-Signature"
    grafana_timestamp_header: str = "X-Grafana-Alerting-Signature-Timestamp"
    grafana_signature_max_age_s: float = Field(default=300.0, gt=0)
    # How Slack reaches the bot: "socket" (Socket Mode, outbound WebSocket, needs SLACK_APP_TOKEN) or "http"
    # (Events API, interactivity and slash commands POSTed to /slack/events, needs SLACK_SIGNING_SECRET).
    slack_mode: Literal["socket", "http"] = "socket"

    # Redis topologies (docs/redis.md). REDIS_URL may also be `redis+cluster://host:port` (any cluster node).
    redis_cluster: bool = False
    # Sentinel: `host:port,host:port,…` of the sentinels and the name they monitor; REDIS_URL is then unused.
    redis_sentinels: str | None = None
    redis_sentinel_master: str = "mymaster"
    redis_password: SecretStr | None = None
    # Webhooks answer only after this many replicas acknowledged their writes (WAIT), or the timeout passed.
    # Unset: 1 when Sentinel is configured, else 0 (no WAIT).
    redis_wait_replicas: int | None = Field(default=None, ge=0)
    redis_wait_timeout_ms: int = Field(default=500, ge=1)
    # Timer shards (hash tags `{timers:0}` …); fixed once timers are stored (docs/redis.md, "Timer shards").
    timer_shards: int = Field(default=8, ge=1, le=1024)

    @field_validator("close_requires")
    @classmethod
    def _close_requires(cls, value: str) -> str:
        words = {w.strip().lower() for w in value.split(",") if w.strip()}
        unknown = words - {"postmortem", "followups", "none"}
        if unknown:
            raise ValueError(f"unknown requirement(s) {sorted(unknown)}: use postmortem, followups or none")
        return ",".join(sorted(words - {"none"}))

    # One Slack rate budget in Redis for all replicas (docs/architecture.md, "Slack gateway"); unset: on, the
    # embedded store included (its window per tier is exact; the local buckets are the fallback).
    slack_shared_budget: bool | None = None

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def data_dir(self) -> Path:
        """The local folder for the embedded store and other state."""
        return self.runbook_bot_data_dir

    def require_slack(self) -> None:
        """Raise ConfigError naming every missing Slack setting at once."""
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                self._slack_mode_secret(),
            )
            if value is None or not value.get_secret_value()
        ]
        if missing:
            raise ConfigError("missing settings: " + ", ".join(missing), fields=missing)

    def _slack_mode_secret(self) -> tuple[str, SecretStr | None]:
        # Socket Mode opens its WebSocket with the app token; HTTP mode checks requests with the signing secret.
        if self.slack_mode == "http":
            return ("SLACK_SIGNING_SECRET", self.slack_signing_secret)
        return ("SLACK_APP_TOKEN", self.slack_app_token)


def env_names() -> list[str]:
    """Every environment variable the settings read; tests clear them so a developer's shell never leaks in."""
    return [name.upper() for name in Settings.model_fields]


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning every validation problem into one ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper()
            problems.append(f"{name}: {error['msg']}")
        fields = [p.split(":", 1)[0] for p in problems]
        raise ConfigError("invalid settings: " + "; ".join(problems), fields=fields) from None
