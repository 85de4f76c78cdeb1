"""A stand-in for the pull-request APIs of GitHub and GitLab, served on 127.0.0.1, for db_ops' reconciler and sweep.

Modelled on the documentation:

- GitHub (docs.github.com/rest/pulls/pulls; rest/using-the-rest-api/pagination and rate-limits-for-the-rest-api):
  ``GET /repos/{owner}/{repo}/pulls?state=open`` answers pages of ``per_page`` (default 30, at most 100) in
  descending number order (``sort=created``, ``direction=desc``), with ``Link: <...>; rel="next"`` while more remain;
  each pull request has ``number``, ``state``, ``head.sha`` and ``head.repo.full_name``. ``GET .../pulls/{number}``
  answers one, 404 ``Not Found`` for an unknown number. A wrong or missing ``Authorization: Bearer`` token is a 401
  ``Bad credentials``. An exhausted rate limit is a 403 with ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset``
  (epoch seconds); a secondary limit a 429 with ``retry-after``.
- GitLab (docs.gitlab.com/api/merge_requests; api/rest#pagination; security/rate_limits):
  ``GET /api/v4/projects/{id}/merge_requests?state=opened`` answers pages of ``per_page`` (default 20, at most 100),
  newest first, with ``X-Next-Page`` (empty on the last page); each has ``iid``, ``state`` (``opened``, ``closed``,
  ``locked``, ``merged``), ``sha``, ``project_id`` and ``source_project_id``. ``GET .../merge_requests/{iid}``
  answers one, 404 ``404 Not found`` otherwise. Without a valid ``PRIVATE-TOKEN``: 401 ``401 Unauthorized``. A rate
  limit is a 429 with ``Retry-After``.

Tests plan failures: ``fail_next`` answers the next requests with the given status codes (a 5xx, or ``"rate"`` for
the host's own rate-limit answer). Every request is recorded.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hn_testing.http_stand_in import JsonHandler, serve

TOKEN = "code-host-token"
REPOSITORY, PROJECT_ID, FORK_PROJECT_ID = "acme/platform", 17, 99
REPOSITORY_JSON = {"id": 17, "full_name": REPOSITORY}


@dataclass
class PullRequestRecord:
    number: int
    head_sha: str
    state: str = "open"  # open | closed | merged (GitHub says closed for both; GitLab tells them apart) | locked
    from_fork: bool = False
    fork_deleted: bool = False  # GitHub then answers "head": {"repo": null}


@dataclass
class CodeHostState:
    pull_requests: dict[int, PullRequestRecord] = field(default_factory=dict)
    fail_next: list[int | str] = field(default_factory=list)
    # Open pull requests a list leaves out, as a page shift does when a pull request closes while pages are read.
    left_out_of_lists: set[int] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def add(self, number: int, head_sha: str, state: str = "open", from_fork: bool = False, **more: bool) -> None:
        self.pull_requests[number] = PullRequestRecord(number, head_sha, state, from_fork, **more)


GITHUB_LIST = re.compile(rf"^/repos/{REPOSITORY}/pulls$")
GITHUB_ONE = re.compile(rf"^/repos/{REPOSITORY}/pulls/(\d+)$")
GITLAB_LIST = re.compile(rf"^/api/v4/projects/{PROJECT_ID}/merge_requests$")
GITLAB_ONE = re.compile(rf"^/api/v4/projects/{PROJECT_ID}/merge_requests/(\d+)$")


def _github(record: PullRequestRecord) -> dict[str, Any]:
    head_repository = {"id": 99, "full_name": "someone/platform"} if record.from_fork else REPOSITORY_JSON
    state = "open" if record.state in ("open", "locked") else "closed"
    return {
        "number": record.number,
        "state": state,
        "head": {"sha": record.head_sha, "repo": None if record.fork_deleted else head_repository},
        "base": {"ref": "main", "repo": REPOSITORY_JSON},
    }


def _gitlab(record: PullRequestRecord) -> dict[str, Any]:
    state = {"open": "opened"}.get(record.state, record.state)
    source = FORK_PROJECT_ID if record.from_fork else PROJECT_ID
    return {"iid": record.number, "state": state, "sha": record.head_sha, "project_id": PROJECT_ID,
            "source_project_id": source}  # fmt: skip


def handler_for(state: CodeHostState) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            state.requests.append(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            gitlab = url.path.startswith("/api/v4/")
            if state.fail_next:
                failure = state.fail_next.pop(0)
                if failure == "rate" and gitlab:
                    return self.send_json(429, {"message": "Retry later"}, {"Retry-After": "1"})
                if failure == "rate":
                    reset = str(int(time.time()) + 1)
                    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
                    return self.send_json(403, {"message": "API rate limit exceeded"}, headers)
                return self.send_json(int(failure), {"message": "Server Error"})
            if gitlab:
                return self._gitlab(url.path, query)
            return self._github(url.path, query)

        def _github(self, path: str, query: dict[str, str]) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.send_json(401, {"message": "Bad credentials"})
            if GITHUB_LIST.match(path):
                wanted = query.get("state", "open")
                records = [_github(r) for n, r in state.pull_requests.items() if n not in state.left_out_of_lists]
                records = sorted((r for r in records if wanted == "all" or r["state"] == wanted),
                                 key=lambda r: -r["number"])  # fmt: skip
                return self._page(path, query, records, default=30, github=True)
            if match := GITHUB_ONE.match(path):
                record = state.pull_requests.get(int(match[1]))
                return self.send_json(200, _github(record)) if record else self.send_json(404, {"message": "Not Found"})
            return self.send_json(404, {"message": "Not Found"})

        def _gitlab(self, path: str, query: dict[str, str]) -> None:
            if self.headers.get("PRIVATE-TOKEN") != TOKEN:
                return self.send_json(401, {"message": "401 Unauthorized"})
            if GITLAB_LIST.match(path):
                wanted = query.get("state", "all")
                records = [_gitlab(r) for n, r in state.pull_requests.items() if n not in state.left_out_of_lists]
                records = sorted((r for r in records if wanted == "all" or r["state"] == wanted),
                                 key=lambda r: -r["iid"])  # fmt: skip
                return self._page(path, query, records, default=20, github=False)
            if match := GITLAB_ONE.match(path):
                record = state.pull_requests.get(int(match[1]))
                return (
                    self.send_json(200, _gitlab(record))
                    if record
                    else self.send_json(404, {"message": "404 Not found"})
                )
            return self.send_json(404, {"message": "404 Not found"})

        def _page(self, path: str, query: dict[str, str], records: list, default: int, github: bool) -> None:
            per_page, page = min(int(query.get("per_page", default)), 100), int(query.get("page", 1))
            chunk = records[(page - 1) * per_page : page * per_page]
            more = page * per_page < len(records)
            if github:
                others = "&".join(f"{k}={v}" for k, v in query.items() if k not in ("page", "per_page"))
                link = f'<http://{self.headers["Host"]}{path}?{others}&per_page={per_page}&page={page + 1}>; rel="next"'
                return self.send_json(200, chunk, {"Link": link} if more else {})
            return self.send_json(200, chunk, {"X-Next-Page": str(page + 1) if more else ""})

    return Handler


def serve_code_host(state: CodeHostState):
    """Serve ``state``; a context manager yielding the root URL (GitHub's API root; GitLab's is ``<url>/api/v4``)."""
    return serve(handler_for(state))
