"""Local stand-ins for the comment APIs of GitHub (issue comments) and GitLab (merge request notes).

Modelled on the documented endpoints (docs.github.com/rest/issues/comments, docs.gitlab.com/api/notes):

- GitHub: ``GET /repos/{owner}/{repo}/issues/{number}/comments`` answers pages of ``per_page`` comments (default 30,
  at most 100) in ascending id order, with a ``Link`` header naming the ``next`` page while more remain;
  ``POST`` there creates (201); ``PATCH /repos/{owner}/{repo}/issues/comments/{id}`` edits (200); a body over 65,536
  characters is a 422 "Validation Failed"; a missing or wrong ``Authorization: Bearer`` token is a 401 "Bad
  credentials"; an unknown repository, pull request or comment a 404 "Not Found".
- GitLab: ``GET /projects/{id}/merge_requests/{iid}/notes`` answers pages of ``per_page`` notes (default 20, at most
  100) with ``X-Next-Page`` (empty on the last page), newest first by default; ``POST`` creates (201),
  ``PUT .../notes/{note_id}`` edits (200); a body over 1,000,000 characters is a 400; without a valid
  ``PRIVATE-TOKEN`` a 401 "401 Unauthorized"; unknown ids a 404 "404 Not found". System notes (GitLab's own,
  such as "added 1 commit") are listed with ``"system": true``; ``GET /user`` answers the token's own user.

A comment written through the API is the token's: on GitHub by ``github-actions[bot]`` (``"type": "Bot"``, as the
workflow's ``GITHUB_TOKEN`` writes), on GitLab by the project access token's bot user. Comments a test adds itself
are a person's (``add``'s default). Every request is recorded, so tests can tell an edit from a second comment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hn_testing.http_stand_in import JsonHandler, serve

TOKEN = "forge-token"
GITHUB_LIMIT, GITLAB_LIMIT = 65_536, 1_000_000
GITHUB_BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
GITHUB_PERSON = {"login": "alice", "id": 7, "type": "User"}
GITLAB_BOT = {"id": 99, "username": "project_17_bot_1"}
GITLAB_PERSON = {"id": 7, "username": "alice"}


@dataclass
class Thread:
    """The comments of one pull request (or merge request)."""

    comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ForgeState:
    github: dict[tuple[str, int], Thread] = field(default_factory=dict)
    gitlab: dict[tuple[str, int], Thread] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000

    def add(self, thread: Thread, body: str, **extra: Any) -> dict[str, Any]:
        """A comment on ``thread``; a person's unless ``extra`` says otherwise."""
        self.next_id += 1
        comment = {"id": self.next_id, "body": body, "user": GITHUB_PERSON, "author": GITLAB_PERSON, "system": False,
                   **extra}  # fmt: skip
        thread.comments.append(comment)
        return comment


GITHUB_LIST = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
GITHUB_ONE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")
GITLAB_LIST = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$")
GITLAB_ONE = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$")


def handler_for(state: ForgeState) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self._handle("POST")

        def do_PATCH(self) -> None:  # noqa: N802 (http.server's name)
            self._handle("PATCH")

        def do_PUT(self) -> None:  # noqa: N802 (http.server's name)
            self._handle("PUT")

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            state.requests.append((method, url.path))
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            payload = json.loads(self.read_body() or b"{}")
            if url.path.startswith("/api/v4/"):
                self._gitlab(method, url.path, query, payload)
            else:
                self._github(method, url.path, query, payload)

        def _github(self, method: str, path: str, query: dict[str, str], payload: dict[str, Any]) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.send_json(401, {"message": "Bad credentials", "status": "401"})
            if (match := GITHUB_LIST.match(path)) and (key := (match[1], int(match[2]))) in state.github:
                thread = state.github[key]
                if method == "GET":
                    per_page, page = min(int(query.get("per_page", 30)), 100), int(query.get("page", 1))
                    chunk = thread.comments[(page - 1) * per_page : page * per_page]
                    more = page * per_page < len(thread.comments)
                    link = f'<http://{self.headers["Host"]}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
                    return self.send_json(200, chunk, {"Link": link} if more else {})
                if method == "POST":
                    if not self._github_body_ok(payload):
                        return None
                    return self.send_json(201, state.add(thread, payload["body"], user=GITHUB_BOT))
            if (match := GITHUB_ONE.match(path)) and method == "PATCH":
                for (repository, _), thread in state.github.items():
                    for comment in thread.comments:
                        if repository == match[1] and comment["id"] == int(match[2]):
                            if not self._github_body_ok(payload):
                                return None
                            comment["body"] = payload["body"]
                            return self.send_json(200, comment)
            return self.send_json(404, {"message": "Not Found", "status": "404"})

        def _github_body_ok(self, payload: dict[str, Any]) -> bool:
            body = payload.get("body")
            if not isinstance(body, str) or len(body) > GITHUB_LIMIT:
                error = {"resource": "IssueComment", "code": "custom", "field": "body",
                         "message": f"body is too long (maximum is {GITHUB_LIMIT} characters)"}  # fmt: skip
                self.send_json(422, {"message": "Validation Failed", "errors": [error], "status": "422"})
                return False
            return True

        def _gitlab(self, method: str, path: str, query: dict[str, str], payload: dict[str, Any]) -> None:
            if self.headers.get("PRIVATE-TOKEN") != TOKEN:
                return self.send_json(401, {"message": "401 Unauthorized"})
            if path == "/api/v4/user" and method == "GET":
                return self.send_json(200, GITLAB_BOT)
            if (match := GITLAB_LIST.match(path)) and (key := (match[1], int(match[2]))) in state.gitlab:
                thread = state.gitlab[key]
                if method == "GET":
                    per_page, page = min(int(query.get("per_page", 20)), 100), int(query.get("page", 1))
                    newest_first = list(reversed(thread.comments))
                    chunk = newest_first[(page - 1) * per_page : page * per_page]
                    more = page * per_page < len(newest_first)
                    return self.send_json(200, chunk, {"X-Next-Page": str(page + 1) if more else ""})
                if method == "POST":
                    if not self._gitlab_body_ok(payload):
                        return None
                    return self.send_json(201, state.add(thread, payload["body"], author=GITLAB_BOT))
            if (match := GITLAB_ONE.match(path)) and method == "PUT":
                thread = state.gitlab.get((match[1], int(match[2])))
                for comment in thread.comments if thread else []:
                    if comment["id"] == int(match[3]):
                        if not self._gitlab_body_ok(payload):
                            return None
                        comment["body"] = payload["body"]
                        return self.send_json(200, comment)
            return self.send_json(404, {"message": "404 Not found"})

        def _gitlab_body_ok(self, payload: dict[str, Any]) -> bool:
            body = payload.get("body")
            if not isinstance(body, str) or not body or len(body) > GITLAB_LIMIT:
                self.send_json(400, {"message": {"base": ["Note is too long (maximum is 1000000 characters)"]}})
                return False
            return True

    return Handler


def forge(state: ForgeState):
    """Serve ``state``: a context manager yielding the base URL (GitHub's API root; GitLab's is ``<url>/api/v4``)."""
    return serve(handler_for(state))
