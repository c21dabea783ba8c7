"""Follow-ups as Linear issues (GraphQL `issueCreate`), each with an id derived from the follow-up.

Linear accepts a client-chosen issue id; deriving it from the follow-up makes a retry either find the
issue an earlier attempt created or create it under the same id, never a second one.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from bot.durable import Permanent
from bot.errors import UpstreamError
from bot.followups.http import send
from bot.followups.models import FollowUp, TrackerIssue, inert_markdown, issue_lines, issue_title
from bot.incidents.models import Incident

CREATE = """mutation IssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { id identifier url } }
}"""
FIND = """query Issue($id: String!) { issue(id: $id) { id identifier url } }"""
_NAMESPACE = uuid.UUID("6f1c1c52-8d0e-4d7e-9b53-7a9f0c3b2e11")


def issue_uuid(item: FollowUp) -> str:
    """The Linear issue id this follow-up always gets."""
    return str(uuid.uuid5(_NAMESPACE, f"{item.incident_id}/{item.id}/{item.created_at.isoformat()}"))


class LinearExporter:
    """Creates one issue per follow-up in one team."""

    name = "linear"

    def __init__(
        self, api_url: str, api_key: str, team_id: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.api_url = api_url
        self.team_id = team_id
        self.http = httpx.AsyncClient(
            headers={"Authorization": api_key, "Content-Type": "application/json"}, timeout=15.0, transport=transport
        )

    async def create(self, item: FollowUp, incident: Incident, retrying: bool) -> TrackerIssue:
        """Create the issue under its derived id; a retry first asks for that id."""
        issue_id = issue_uuid(item)
        if retrying:
            found = await self._graphql(FIND, {"id": issue_id}, missing_ok=True)
            if found and found.get("issue"):
                return _issue(found["issue"])
        description = inert_markdown("\n".join(issue_lines(item, incident)))
        variables = {
            "input": {"id": issue_id, "teamId": self.team_id, "title": issue_title(item), "description": description}
        }
        data = await self._graphql(CREATE, variables)
        payload = data.get("issueCreate") or {}
        if not payload.get("success") or not payload.get("issue"):
            raise UpstreamError(f"linear: issueCreate did not succeed: {payload}")
        return _issue(payload["issue"])

    async def _graphql(self, query: str, variables: dict[str, Any], missing_ok: bool = False) -> dict[str, Any]:
        answer = await send(self.http, self.name, "POST", self.api_url, json={"query": query, "variables": variables})
        errors = answer.get("errors") or []
        if errors:
            if missing_ok:
                return {}
            raise Permanent(f"linear: {errors[0].get('message', errors[0])}")
        return dict(answer.get("data") or {})

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()


def _issue(found: dict[str, Any]) -> TrackerIssue:
    return TrackerIssue(str(found["identifier"]), str(found["url"]))
