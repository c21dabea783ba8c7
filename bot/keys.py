"""Every Redis key of runbook-bot, built here and nowhere else.

Keys of one incident share the hash tag `{INC-n}`, so every script that touches one
incident stays in one Redis Cluster slot. Timers are sharded by the hash tag `{timers:s}`
(the shard derived from the timer id): a shard's due set, leased set, records and fired
markers share one slot. Cross-incident keys (counters, group map, indexes, audit) are
single keys used by single-key commands or scripts. See docs/redis.md.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

DEFAULT_PREFIX = "rb"


@dataclass(frozen=True)
class Keys:
    """Key builder bound to one prefix (tests use a unique prefix each)."""

    prefix: str = DEFAULT_PREFIX
    # How many timer shards (`{timers:0}` … `{timers:n-1}`); fixed for a deployment (docs/redis.md).
    timer_shards: int = 8

    def incident_counter(self) -> str:
        """Counter that numbers incidents INC-1, INC-2, ..."""
        return f"{self.prefix}:counter:incident"

    def group(self, group_key: str) -> str:
        """Map from an alert group to the incident id that owns it."""
        digest = hashlib.sha256(group_key.encode()).hexdigest()[:32]
        return f"{self.prefix}:group:{digest}"

    def incident(self, incident_id: str) -> str:
        """Hash holding one incident: fields `data` (JSON) and `version`."""
        return f"{self.prefix}:{{{incident_id}}}:incident"

    def timeline(self, incident_id: str) -> str:
        """Stream of one incident's timeline events."""
        return f"{self.prefix}:{{{incident_id}}}:timeline"

    def alerts_seen(self, incident_id: str) -> str:
        """Set of alert delivery ids already recorded for one incident."""
        return f"{self.prefix}:{{{incident_id}}}:alerts"

    def approval(self, incident_id: str, approval_id: str) -> str:
        """Hash holding one approval request."""
        return f"{self.prefix}:{{{incident_id}}}:approval:{approval_id}"

    def execution(self, incident_id: str, idempotency_key: str) -> str:
        """Claim marker that makes one action run exactly once."""
        return f"{self.prefix}:{{{incident_id}}}:exec:{idempotency_key}"

    def approval_ref(self, approval_id: str) -> str:
        """Map from an opaque approval id (all a Slack button carries) to its incident id."""
        return f"{self.prefix}:approval-ref:{approval_id}"

    def approval_group(self, incident_id: str, group_id: str) -> str:
        """One plan message's approvals: runbook name, notes and approval ids, to re-render it."""
        return f"{self.prefix}:{{{incident_id}}}:approval-group:{group_id}"

    def approval_steps(self, incident_id: str) -> str:
        """Hash from step id to the latest approval offered for it in one incident."""
        return f"{self.prefix}:{{{incident_id}}}:approval-steps"

    def steps_done(self, incident_id: str) -> str:
        """Set of the step ids that ran successfully (or were marked done) in one incident."""
        return f"{self.prefix}:{{{incident_id}}}:steps-done"

    def action_rate(self, service: str, action: str) -> str:
        """Sliding-window sorted set of the executions of one action on one service."""
        return self.rate(f"action:{service}:{action}")

    def provisioning(self, incident_id: str) -> str:
        """Lease held by the worker creating the incident's channel."""
        return f"{self.prefix}:{{{incident_id}}}:provisioning"

    def incident_index(self) -> str:
        """Sorted set of all incident ids scored by trigger time."""
        return f"{self.prefix}:incidents"

    def open_index(self) -> str:
        """Set of incident ids that are not closed."""
        return f"{self.prefix}:incidents:open"

    def channel_index(self) -> str:
        """Hash from Slack channel id to incident id."""
        return f"{self.prefix}:channels"

    def audit(self) -> str:
        """Stream of audit events across all incidents."""
        return f"{self.prefix}:audit"

    def timer_shard(self, timer_id: str) -> int:
        """The shard holding a timer: a stable hash of its id."""
        return zlib.crc32(timer_id.encode()) % self.timer_shards

    def _timer_tag(self, shard: int) -> str:
        return f"{self.prefix}:{{timers:{shard}}}"

    def timers_due(self, shard: int = 0) -> str:
        """Sorted set of one shard's timer ids scored by due time (epoch seconds)."""
        return f"{self._timer_tag(shard)}:due"

    def timers_leased(self, shard: int = 0) -> str:
        """Sorted set of one shard's claimed timer ids scored by lease expiry."""
        return f"{self._timer_tag(shard)}:leased"

    def timer(self, timer_id: str) -> str:
        """Hash holding one timer's record, in its shard."""
        return f"{self._timer_tag(self.timer_shard(timer_id))}:timer:{timer_id}"

    def incident_timers(self, incident_id: str) -> str:
        """Set of the timer ids armed for one incident."""
        return f"{self.prefix}:{{{incident_id}}}:timers"

    def incident_paged(self, incident_id: str) -> str:
        """Set of the Slack user ids paged for one incident."""
        return f"{self.prefix}:{{{incident_id}}}:paged"

    def incident_dms(self, incident_id: str) -> str:
        """Set of the direct-message channel ids the bot wrote to for one incident (clicks there count)."""
        return f"{self.prefix}:{{{incident_id}}}:dms"

    def pinners(self, incident_id: str, message_ts: str) -> str:
        """Set of the people whose pin reaction is on one message of an incident's channel."""
        return f"{self.prefix}:{{{incident_id}}}:pinners:{message_ts}"

    def pin_entries(self, incident_id: str) -> str:
        """Hash from a pinned message's ts to the id of its timeline entry."""
        return f"{self.prefix}:{{{incident_id}}}:pins"

    def slack_events_seen(self, incident_id: str) -> str:
        """Set of the Slack event ids already applied to one incident (retries do nothing twice)."""
        return f"{self.prefix}:{{{incident_id}}}:slack-events"

    def timer_record_prefix(self, shard: int = 0) -> str:
        """Common start of one shard's timer record keys; the claim script appends the timer id (same slot)."""
        return f"{self._timer_tag(shard)}:timer:"

    def timer_fired(self, timer_id: str, generation: str) -> str:
        """Marker that one arming (generation) of a timer has run its handler, in the timer's shard."""
        return f"{self.timer_fired_prefix(self.timer_shard(timer_id))}{timer_id}:{generation}"

    def timer_fired_prefix(self, shard: int = 0) -> str:
        """Common start of one shard's fired markers; the claim script appends `id:generation` (same slot)."""
        return f"{self._timer_tag(shard)}:fired:"

    def timers_wake(self) -> str:
        """Pub/sub channel on which an arming that becomes its shard's soonest timer publishes its due time."""
        # A channel, not a key: every node of a Cluster forwards it; the hash tag only picks the node subscribed to.
        return f"{self.prefix}:{{timers}}:wake"

    def timer_layout(self) -> str:
        """The timer shard count this deployment's timers are stored under (written once, checked at start)."""
        return f"{self.prefix}:timers:shards"

    def legacy_timers_due(self) -> str:
        """Due set of the unsharded timer layout (before sharding); read only by the migration."""
        return f"{self.prefix}:timers:due"

    def legacy_timers_leased(self) -> str:
        """Leased set of the unsharded timer layout; read only by the migration."""
        return f"{self.prefix}:timers:leased"

    def legacy_timer(self, timer_id: str) -> str:
        """Timer record of the unsharded layout; read only by the migration."""
        return f"{self.prefix}:timer:{timer_id}"

    def legacy_timer_fired(self, timer_id: str, generation: str) -> str:
        """Fired marker of the unsharded layout; read only by the migration."""
        return f"{self.prefix}:timer-fired:{timer_id}:{generation}"

    def executions(self) -> str:
        """Sorted set of running (or unsettled) step executions, `incident/approval`, scored by lease expiry."""
        return f"{self.prefix}:executions"

    def process_groups(self, scope: str) -> str:
        """Hash of the process groups steps started on one host and PID namespace (`scope`), by approval id."""
        return f"{self.prefix}:pgroups:{scope}"

    def job(self, incident_id: str, job_id: str) -> str:
        """Hash recording one durable side-effect job (status page write, tracker export) of an incident."""
        return f"{self.prefix}:{{{incident_id}}}:job:{job_id}"

    def jobs_dead(self) -> str:
        """Sorted set of durable jobs that gave up (`incident|job id`), scored by when."""
        return f"{self.prefix}:jobs:dead"

    def status_page(self, incident_id: str) -> str:
        """Hash of one incident's status-page state: the built-in page's record and backends' remote ids."""
        return f"{self.prefix}:{{{incident_id}}}:statuspage"

    def status_page_index(self) -> str:
        """Sorted set of the incident ids shown on the built-in status page, scored by start time."""
        return f"{self.prefix}:statuspage:incidents"

    def followups(self, incident_id: str) -> str:
        """Hash from follow-up id to its JSON record, for one incident."""
        return f"{self.prefix}:{{{incident_id}}}:followups"

    def followup_counter(self, incident_id: str) -> str:
        """Counter numbering one incident's follow-ups F1, F2, ..."""
        return f"{self.prefix}:{{{incident_id}}}:followup-counter"

    def followup_index(self) -> str:
        """Sorted set of the incident ids that have follow-ups, scored by the latest one's time."""
        return f"{self.prefix}:followups"

    def replica_fence(self) -> str:
        """Key a webhook writes just before WAIT, so the wait covers every earlier write (bot/replicafence.py)."""
        return f"{self.prefix}:replica-fence"

    def delivery_sent(self, incident_id: str, job_id: str) -> str:
        """Marker that one page delivery (page, channel, target) went out; a retry sees it and sends nothing."""
        return f"{self.prefix}:{{{incident_id}}}:sent:{job_id}"

    def pages_recorded(self, incident_id: str) -> str:
        """Set of the page ids recorded for one incident (a re-run handler records nothing twice)."""
        return f"{self.prefix}:{{{incident_id}}}:pages"

    def dead_letters(self) -> str:
        """Hash of durable jobs past their failure threshold: job id → JSON entry."""
        return f"{self.prefix}:dead-letters"

    def dead_letter_failures(self) -> str:
        """Hash of each dead letter's latest failure time: job id → ISO time (apart, so older versions read entries)."""
        return f"{self.prefix}:dead-letters:last"

    def rate(self, name: str) -> str:
        """Counter key for a named rate limit window."""
        return f"{self.prefix}:rate:{name}"

    def user_names(self) -> str:
        """Hash from Slack user id to the display name the bot last saw (post-mortems name people offline)."""
        return f"{self.prefix}:user-names"

    def slack_bucket(self, name: str) -> str:
        """Hash holding the shared token bucket of `method:channel`, for per-channel pacing."""
        return f"{self.prefix}:{{slack:{name}}}:bucket"

    def slack_window(self, name: str) -> str:
        """Sorted set of the calls of one Slack method in its last rate window, shared by every replica."""
        return f"{self.prefix}:{{slack:{name}}}:window"

    def slack_hold(self, name: str) -> str:
        """Key whose value is when a 429's Retry-After ends for one Slack bucket (expires with PX)."""
        return f"{self.prefix}:{{slack:{name}}}:hold"

    def pattern(self) -> str:
        """Glob matching every key under this prefix."""
        return f"{self.prefix}:*"

    def declaration(self, request_id: str) -> str:
        """Marker of one declare request (a submitted form): a redelivery opens no second incident."""
        return f"{self.prefix}:declared:{request_id}"
