"""Which pull requests are open, asked of the code host (GitHub or GitLab) with a read-only token.

Production's ``db_ops`` reconciles clones with this answer (``db_ops.reconcile``). Modelled on the documented APIs:

- GitHub (docs.github.com/rest/pulls/pulls): ``GET /repos/{owner}/{repo}/pulls?state=open&per_page=100`` pages by
  ``Link: <...>; rel="next"``; each pull request has ``number``, ``head.sha``, and ``head.repo`` and ``base.repo``
  (a fork's head repository differs; it is ``null`` once the fork is deleted).
  ``GET /repos/{owner}/{repo}/pulls/{number}`` has ``state`` ``open`` or ``closed``; 404 for a number the
  repository does not know (or an issue's). Rate limits (docs.github.com/rest/using-the-rest-api/
  rate-limits-for-the-rest-api): 403 or 429 with ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (epoch
  seconds), or with ``retry-after`` (seconds) for secondary limits. A fine-grained token with "Pull requests:
  read" is enough.
- GitLab (docs.gitlab.com/api/merge_requests): ``GET /projects/{id}/merge_requests?state=opened&per_page=100`` pages
  by ``X-Next-Page`` (empty on the last page); each has ``iid``, ``sha`` and ``source_project_id`` (a fork's differs
  from ``project_id``). ``GET /projects/{id}/merge_requests/{iid}`` has ``state`` ``opened``, ``closed``, ``locked``
  or ``merged``; 404 when unknown. Rate limits (docs.gitlab.com/security/rate_limits): 429 with ``Retry-After``. A
  token with ``read_api`` is enough.

A 5xx answer or a connection error is tried again (``attempts`` in all), and so is a rate limit that resets within
``max_wait_seconds``; anything else raises ``CodeHostError`` naming the request and the answer.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import dagster as dg
import requests
from pydantic import Field


class CodeHostError(Exception):
    """The code host could not be asked, or refused; the message says which request and why."""


class PullRequestState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # closed or merged: its clone may go
    UNKNOWN = "unknown"  # the host does not know the number: left to the age sweep


@dataclass(frozen=True)
class PullRequest:
    number: int
    head_sha: str
    from_fork: bool  # a fork's pull request gets no branch deployment, so no clone


class CodeHost(dg.ConfigurableResource, ABC):
    """The pull requests of one repository (GitHub) or project (GitLab)."""

    project: str = Field(description="owner/name on GitHub; the project's id or URL-encoded path on GitLab.")
    token: str = Field(description="A read-only token: pull requests (GitHub), read_api (GitLab).")
    api_url: str = Field(default="", description="The API's root; empty for github.com or gitlab.com.")
    attempts: int = Field(default=3, ge=1, description="Tries of a request answered with 5xx or not at all.")
    max_wait_seconds: float = Field(default=60, ge=0, description="The longest wait for a rate limit to reset.")
    timeout_seconds: float = Field(default=30, gt=0, description="How long one request may take.")

    @abstractmethod
    def open_pull_requests(self) -> list[PullRequest]:
        """Every open pull request, forks' included (flagged)."""

    @abstractmethod
    def state_of(self, number: int) -> PullRequestState:
        """Whether pull request ``number`` is open, closed (or merged), or unknown to the host."""

    @abstractmethod
    def _headers(self) -> dict[str, str]: ...

    @abstractmethod
    def _wait_before_retry(self, response: requests.Response) -> float | None:
        """Seconds to wait before asking again after a rate limit, or None if ``response`` is not one."""

    def _get(self, url: str, not_found_ok: bool = False) -> requests.Response | None:
        for attempt in range(1, self.attempts + 1):
            try:
                response = requests.get(url, headers=self._headers(), timeout=self.timeout_seconds)
            except requests.RequestException as error:
                if attempt == self.attempts:
                    raise CodeHostError(f"GET {url}: no answer after {attempt} attempts ({error})") from None
                time.sleep(1)
                continue
            if response.status_code == 404 and not_found_ok:
                return None
            if response.ok:
                return response
            wait = self._wait_before_retry(response)
            if wait is not None and wait <= self.max_wait_seconds and attempt < self.attempts:
                time.sleep(wait)
                continue
            if response.status_code >= 500 and attempt < self.attempts:
                time.sleep(1)
                continue
            limit = f" (rate limited for {wait:.0f} s more)" if wait is not None else ""
            raise CodeHostError(f"GET {url}: HTTP {response.status_code}{limit}: {response.text[:300]}")
        raise AssertionError("unreachable")

    def _pages(self, url: str, next_page: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        following: str | None = url
        while following:
            response = self._get(following)
            assert response is not None
            items += response.json()
            following = next_page(response)
        return items


class GitHubPullRequests(CodeHost):
    """GitHub's pull requests of `project` (owner/name)."""

    def _root(self) -> str:
        return (self.api_url or "https://api.github.com").rstrip("/") + f"/repos/{self.project}"

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def _wait_before_retry(self, response: requests.Response) -> float | None:
        if response.status_code not in (403, 429):
            return None
        if "retry-after" in response.headers:
            return float(response.headers["retry-after"])
        if response.headers.get("x-ratelimit-remaining") == "0":
            return max(float(response.headers.get("x-ratelimit-reset", 0)) - time.time(), 0)
        return None

    def open_pull_requests(self) -> list[PullRequest]:
        pulls = self._pages(
            f"{self._root()}/pulls?state=open&per_page=100", lambda r: r.links.get("next", {}).get("url")
        )
        # By repository id, not name: a renamed or transferred repository keeps its id (its old name redirects).
        return [
            PullRequest(
                number=int(pull["number"]),
                head_sha=pull["head"]["sha"],
                from_fork=(pull["head"].get("repo") or {}).get("id") != (pull["base"].get("repo") or {}).get("id"),
            )
            for pull in pulls
        ]

    def state_of(self, number: int) -> PullRequestState:
        response = self._get(f"{self._root()}/pulls/{number}", not_found_ok=True)
        if response is None:
            return PullRequestState.UNKNOWN
        return PullRequestState.OPEN if response.json()["state"] == "open" else PullRequestState.CLOSED


class GitLabMergeRequests(CodeHost):
    """GitLab's merge requests of `project` (its id, or its URL-encoded path)."""

    def _root(self) -> str:
        # An id, or a path such as group/project, which the API wants URL-encoded (group%2Fproject).
        return (self.api_url or "https://gitlab.com/api/v4").rstrip("/") + f"/projects/{quote(self.project, safe='')}"

    def _headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.token}

    def _wait_before_retry(self, response: requests.Response) -> float | None:
        if response.status_code != 429:
            return None
        return float(response.headers.get("Retry-After", 60))

    def open_pull_requests(self) -> list[PullRequest]:
        first = f"{self._root()}/merge_requests?state=opened&per_page=100"

        def next_page(response: requests.Response) -> str | None:
            following = response.headers.get("X-Next-Page", "")
            return f"{first}&page={following}" if following else None

        merge_requests = self._pages(first, next_page)
        return [
            PullRequest(
                number=int(request["iid"]),
                head_sha=request["sha"],
                from_fork=request["source_project_id"] != request["project_id"],
            )
            for request in merge_requests
        ]

    def state_of(self, number: int) -> PullRequestState:
        response = self._get(f"{self._root()}/merge_requests/{number}", not_found_ok=True)
        if response is None:
            return PullRequestState.UNKNOWN
        # "locked" is a merge request being merged: still open until GitLab says "merged".
        return PullRequestState.OPEN if response.json()["state"] in ("opened", "locked") else PullRequestState.CLOSED


#: The code host's settings, in production's environment (deploy/env/production.env.example).
HOST_VARIABLE, PROJECT_VARIABLE, TOKEN_VARIABLE, API_URL_VARIABLE = (
    "HN_CODE_HOST",
    "HN_CODE_HOST_PROJECT",
    "HN_CODE_HOST_TOKEN",
    "HN_CODE_HOST_API_URL",
)
HOSTS: dict[str, type[CodeHost]] = {"github": GitHubPullRequests, "gitlab": GitLabMergeRequests}


def code_host_problems(env: Mapping[str, str]) -> list[str]:
    """What is missing or wrong in the code host's settings, by variable name; empty when they are complete."""
    problems = [name for name in (HOST_VARIABLE, PROJECT_VARIABLE, TOKEN_VARIABLE) if not env.get(name)]
    host = env.get(HOST_VARIABLE, "")
    if host and host.lower() not in HOSTS:
        problems.append(f"{HOST_VARIABLE} (is {host!r}: use github or gitlab)")
    return problems


def build_code_host(env: Mapping[str, str]) -> CodeHost:
    """The code host of ``env``'s settings (check ``code_host_problems`` first); the token stays an ``EnvVar``.

    Short waits: a sensor's evaluation must end within Dagster's 60 s; a host that is slower is asked again on the
    next tick.
    """
    host = HOSTS[env[HOST_VARIABLE].lower()]
    return host(
        project=env[PROJECT_VARIABLE],
        token=dg.EnvVar(TOKEN_VARIABLE),
        api_url=env.get(API_URL_VARIABLE, ""),
        attempts=2,
        max_wait_seconds=5,
        timeout_seconds=10,
    )
