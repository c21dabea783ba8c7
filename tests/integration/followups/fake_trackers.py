"""Loopback GitHub, Jira and Linear servers implementing the calls the exporters use, per each API's reference.

GitHub REST: `POST /repos/{owner}/{repo}/issues` (201, `number`, `html_url`), `GET .../issues?labels=&state=`.
Jira Cloud REST v3: `POST /rest/api/3/issue` with `fields` (ADF description; 201, `id`, `key`, `self`),
`POST /rest/api/3/search/jql`. Linear GraphQL: `issueCreate(input:)` and `issue(id:)`.
Each can drop the connection after doing the work, so a client never sees the answer (`lose_responses`).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GITHUB_TOKEN = "gh-test-token"
JIRA_EMAIL, JIRA_TOKEN = "bot@example.com", "jira-test-token"
LINEAR_KEY = "lin_api_test"


@dataclass
class Tracker:
    """Common state: created issues, the requests seen, responses to lose."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lose_responses: int = 0
    url: str = ""

    def _lose(self, request: web.Request) -> None:
        if self.lose_responses > 0:
            self.lose_responses -= 1
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError("response lost on purpose")


class FakeGitHub(Tracker):
    """Issues of any repository."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/repos/{owner}/{repo}/issues", self.create)
        app.router.add_get("/repos/{owner}/{repo}/issues", self.list)
        return app

    def _authorised(self, request: web.Request) -> bool:
        self.requests.append((request.method, request.path_qs))
        return request.headers.get("Authorization") == f"Bearer {GITHUB_TOKEN}"

    async def create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Bad credentials"}, status=401)
        body = await request.json()
        if not isinstance(body.get("title"), str) or not body["title"]:
            return web.json_response({"message": "Validation Failed"}, status=422)
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        number = len(self.issues) + 1
        issue = {
            "number": number,
            "html_url": f"{self.url}/{repo}/issues/{number}",
            "title": body["title"],
            "body": body.get("body"),
            "labels": [{"name": n} for n in body.get("labels", [])],
            "state": "open",
        }
        self.issues.append(issue)
        self._lose(request)
        return web.json_response(issue, status=201)

    async def list(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Bad credentials"}, status=401)
        wanted = set(filter(None, request.query.get("labels", "").split(",")))
        found = [i for i in self.issues if wanted <= {label["name"] for label in i["labels"]}]
        return web.json_response(found)


class FakeJira(Tracker):
    """Issues of one project, KEY."""

    project = "OPS"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/rest/api/3/issue", self.create)
        app.router.add_post("/rest/api/3/search/jql", self.search)
        return app

    def _authorised(self, request: web.Request) -> bool:
        self.requests.append((request.method, request.path_qs))
        expected = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"errorMessages": ["unauthorised"]}, status=401)
        fields = (await request.json()).get("fields", {})
        errors = {}
        if fields.get("project", {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        if not fields.get("issuetype", {}).get("name"):
            errors["issuetype"] = "valid issue type is required"
        description = fields.get("description")
        if not (isinstance(description, dict) and description.get("type") == "doc" and description.get("version") == 1):
            errors["description"] = "Operation value must be an Atlassian Document"
        if errors:
            return web.json_response({"errorMessages": [], "errors": errors}, status=400)
        number = len(self.issues) + 1
        key = f"{self.project}-{number}"
        self.issues.append({"id": str(10000 + number), "key": key, "fields": fields})
        self._lose(request)
        return web.json_response(
            {"id": str(10000 + number), "key": key, "self": f"{self.url}/rest/api/3/issue/{key}"}, status=201
        )

    async def search(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"errorMessages": ["unauthorised"]}, status=401)
        jql = (await request.json()).get("jql", "")
        match = re.fullmatch(r'labels = "([^"]+)"', jql)
        if match is None:
            return web.json_response({"errorMessages": [f"cannot parse {jql!r}"]}, status=400)
        found = [i for i in self.issues if match.group(1) in i["fields"].get("labels", [])]
        return web.json_response(
            {
                "issues": [
                    {"id": i["id"], "key": i["key"], "fields": {"summary": i["fields"]["summary"]}} for i in found
                ],
                "isLast": True,
            }
        )


class FakeLinear(Tracker):
    """Issues of one team."""

    team = "team-1"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/graphql", self.graphql)
        return app

    async def graphql(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path_qs))
        if request.headers.get("Authorization") != LINEAR_KEY:
            return web.json_response({"errors": [{"message": "Authentication required"}]}, status=400)
        body = await request.json()
        query, variables = body.get("query", ""), body.get("variables") or {}
        if "issueCreate" in query:
            return self._create(request, variables.get("input") or {})
        if "issue(id:" in query:
            found = [i for i in self.issues if i["id"] == variables.get("id")]
            if not found:
                return web.json_response({"data": None, "errors": [{"message": "Entity not found: Issue"}]})
            return web.json_response({"data": {"issue": found[0]}})
        return web.json_response({"errors": [{"message": "unknown operation"}]}, status=400)

    def _create(self, request: web.Request, given: dict[str, Any]) -> web.Response:
        if given.get("teamId") != self.team or not given.get("title"):
            return web.json_response({"data": None, "errors": [{"message": "Argument Validation Error"}]})
        if any(i["id"] == given.get("id") for i in self.issues):
            return web.json_response({"data": None, "errors": [{"message": "Entity already exists"}]})
        number = len(self.issues) + 1
        issue = {
            "id": given.get("id") or f"generated-{number}",
            "identifier": f"ENG-{number}",
            "url": f"{self.url}/issue/ENG-{number}",
            "title": given["title"],
            "description": given.get("description"),
        }
        self.issues.append(issue)
        self._lose(request)
        public = {k: issue[k] for k in ("id", "identifier", "url")}
        return web.json_response({"data": {"issueCreate": {"success": True, "issue": public}}})
