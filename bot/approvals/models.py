"""The approval record: one request to run one step (or its rollback), as stored in Redis."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ApprovalStatus(StrEnum):
    """Where an approval request is in its life; every move is made by a Lua script."""

    PENDING = "pending"
    SHADOW = "shadow"
    APPROVED = "approved"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DONE = "done"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    REFUSED = "refused"
    # The owner of a running step vanished (its lease lapsed): nobody knows whether the action happened.
    UNKNOWN = "unknown"
    # The bot stopped while the step ran past its timeout: its process group was killed mid-way.
    INTERRUPTED = "interrupted"
    # A person asked to run an unsettled step again: a fresh request (and approval) replaces this one.
    RERUN = "rerun"

    @property
    def is_final(self) -> bool:
        """Nothing more can happen to the request."""
        return self not in (ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.EXECUTING, *UNSETTLED)

    @property
    def is_unsettled(self) -> bool:
        """The step may or may not have acted: a person must verify (Verified OK, Failed, Run again)."""
        return self in UNSETTLED


UNSETTLED = (ApprovalStatus.UNKNOWN, ApprovalStatus.INTERRUPTED)
OPEN = (ApprovalStatus.PENDING, ApprovalStatus.SHADOW)  # waiting for a decision (a shadow request only shows one)


class ApprovalKind(StrEnum):
    """A runbook step, the rollback of one, or a manual step a person marks done."""

    STEP = "step"
    ROLLBACK = "rollback"
    MANUAL = "manual"


@dataclass
class Approval:
    """One request: what runs (action + resolved-parameter hash), where, who may and did approve, and its state."""

    id: str
    incident_id: str
    kind: ApprovalKind
    runbook_id: str
    step_id: str
    name: str
    environment: str
    service: str
    what_runs: str
    action: dict[str, Any] | None
    params_hash: str
    approvers: list[str]
    required: int
    requester: str
    exclude_requester: bool
    irreversible: bool
    trust: str
    created_at: float
    expires_at: float
    status: ApprovalStatus = ApprovalStatus.PENDING
    approved_by: list[str] = field(default_factory=list)
    description: str = ""
    reason: str = ""
    instructions: str = ""
    guards: list[str] = field(default_factory=list)
    rollback_of: str = ""
    group: str = ""
    channel: str = ""
    message_ts: str = ""
    approved_at: float = 0.0
    result: str = ""
    finished_by: str = ""

    @property
    def action_name(self) -> str:
        """The hook type, or `manual`."""
        return str(self.action["type"]) if self.action else "manual"

    def to_fields(self) -> dict[str, str]:
        """Flatten to a Redis hash; the fields the scripts read are top-level, the rest is JSON in `data`."""
        static = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("status", "approved_by", "expires_at", "requester", "exclude_requester", "required")
        }
        return {
            "status": self.status.value,
            "approved_by": ",".join(self.approved_by),
            "expires_at": repr(self.expires_at),
            "requester": self.requester,
            "exclude_requester": "1" if self.exclude_requester else "0",
            "required": str(self.required),
            "data": json.dumps(static, sort_keys=True),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Approval:
        """Rebuild from the Redis hash."""
        data = json.loads(fields["data"])
        data["kind"] = ApprovalKind(data["kind"])
        data["message_ts"] = fields.get("message_ts", data.get("message_ts", ""))
        data["channel"] = fields.get("channel", data.get("channel", ""))
        data["result"] = fields.get("result", data.get("result", ""))
        data["finished_by"] = fields.get("finished_by", data.get("finished_by", ""))
        data["approved_at"] = float(fields.get("approved_at", data.get("approved_at", 0.0)))
        return cls(
            **data,
            status=ApprovalStatus(fields["status"]),
            approved_by=[u for u in fields.get("approved_by", "").split(",") if u],
            expires_at=float(fields["expires_at"]),
            requester=fields["requester"],
            exclude_requester=fields["exclude_requester"] == "1",
            required=int(fields["required"]),
        )


def params_hash(action_type: str, params: dict[str, Any], environment: str) -> str:
    """The hash an approval is bound to: action, its resolved parameters and the environment."""
    canonical = json.dumps({"action": action_type, "params": params, "env": environment}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key(approval_id: str, bound_hash: str) -> str:
    """The execution claim key of one approval bound to its parameters."""
    return hashlib.sha256(f"{approval_id}:{bound_hash}".encode()).hexdigest()[:32]
