"""One comment per pull request, updated in place: on GitHub an issue comment, on GitLab a merge request note.

The comment is found by a marker (an HTML comment, invisible on the page) at the start of its body, among the
comments CI itself wrote on the pull request, page by page; it is edited if found, created otherwise. A person's
comment that happens to start with the marker is left alone: on GitHub only comments of a bot account count (the
workflow's ``GITHUB_TOKEN`` writes as ``github-actions[bot]``), on GitLab only notes of the token's own user
(``GET /user``), never a system note. Modelled on the documented REST APIs:

- GitHub (docs.github.com/rest/issues/comments): ``GET /repos/{owner}/{repo}/issues/{number}/comments`` pages of
  ``per_page`` (at most 100; default 30) with a ``Link: <...>; rel="next"`` header while more remain;
  ``POST`` to the same path creates (201), ``PATCH /repos/{owner}/{repo}/issues/comments/{id}`` edits (200). A body
  longer than 65,536 characters is refused (422). Authorization: ``Bearer <GITHUB_TOKEN>``, which needs
  ``pull-requests: write`` to write.
- GitLab (docs.gitlab.com/api/notes): ``GET /projects/{id}/merge_requests/{iid}/notes`` pages of ``per_page`` (at
  most 100; default 20) with ``X-Next-Page`` (empty on the last); ``POST`` creates (201),
  ``PUT .../notes/{note_id}`` edits (200); a note holds at most 1,000,000 characters. Authorization:
  ``PRIVATE-TOKEN`` (a project access token with the ``api`` scope: CI's job token cannot write notes).

A report too long for the forge is cut at a line boundary, with a line saying so.

Standard library only.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 60
NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')
CUT = "\n\n_(The report is cut here: it is longer than this forge allows in one comment.)_\n"


class ForgeError(Exception):
    """The forge could not be reached or refused a request; the message says which and why."""


@dataclass(frozen=True)
class Forge:
    """Where a pull request's comments live, and how to write them."""

    name: str
    comments_url: str  # the collection: list (GET) and create (POST)
    comment_url: str  # one comment, with {id}: edit
    edit_method: str
    headers: dict[str, str]
    limit: int
    user_url: str = ""  # who the token is, where comments are matched by author

    @staticmethod
    def github(api_url: str, repository: str, number: int, token: str) -> Forge:
        base = f"{api_url.rstrip('/')}/repos/{repository}"
        return Forge(
            name="GitHub",
            comments_url=f"{base}/issues/{number}/comments",
            comment_url=f"{base}/issues/comments/{{id}}",
            edit_method="PATCH",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            limit=65_536,
        )

    @staticmethod
    def gitlab(api_url: str, project_id: str, merge_request_iid: int, token: str) -> Forge:
        base = f"{api_url.rstrip('/')}/projects/{project_id}/merge_requests/{merge_request_iid}/notes"
        return Forge(
            name="GitLab",
            comments_url=base,
            comment_url=f"{base}/{{id}}",
            edit_method="PUT",
            headers={"PRIVATE-TOKEN": token},
            limit=1_000_000,
            user_url=f"{api_url.rstrip('/')}/user",
        )

    def written_by_ci(self, comment: dict[str, Any], user_id: int | None) -> bool:
        if self.name == "GitHub":
            return (comment.get("user") or {}).get("type") == "Bot"
        return not comment.get("system") and (comment.get("author") or {}).get("id") == user_id


def fit(body: str, limit: int) -> str:
    """``body`` as it is, or cut at the last whole line that leaves room to say it was cut."""
    if len(body) <= limit:
        return body
    kept = body[: limit - len(CUT)]
    return kept[: kept.rfind("\n") if "\n" in kept else len(kept)] + CUT


def upsert(forge: Forge, marker: str, body: str) -> tuple[str, int]:
    """Edit the comment that starts with ``marker``, or create it; ("updated" or "created", its id)."""
    text = fit(f"{marker}\n{body}", forge.limit)
    existing = find(forge, marker)
    if existing is not None:
        _request(forge, forge.edit_method, forge.comment_url.format(id=existing), {"body": text})
        return "updated", existing
    created, _ = _request(forge, "POST", forge.comments_url, {"body": text})
    return "created", int(created["id"])


def find(forge: Forge, marker: str) -> int | None:
    """The id of the first comment CI wrote whose body starts with ``marker``, searching every page."""
    user_id = int(_request(forge, "GET", forge.user_url)[0]["id"]) if forge.user_url else None
    url: str | None = f"{forge.comments_url}?per_page=100&page=1"
    while url:
        page, headers = _request(forge, "GET", url)
        for comment in page:
            if (comment.get("body") or "").startswith(marker) and forge.written_by_ci(comment, user_id):
                return int(comment["id"])
        url = _next_page(forge, url, headers)
    return None


def _next_page(forge: Forge, url: str, headers: Any) -> str | None:
    if forge.name == "GitHub":
        match = NEXT_LINK.search(headers.get("Link", ""))
        return match.group(1) if match else None
    following = headers.get("X-Next-Page", "")
    return f"{forge.comments_url}?per_page=100&page={following}" if following else None


def _request(forge: Forge, method: str, url: str, payload: dict[str, Any] | None = None) -> tuple[Any, Any]:
    data = json.dumps(payload).encode() if payload is not None else None
    headers = {**forge.headers, **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.load(response), response.headers
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:500]
        raise ForgeError(f"{forge.name} answered {method} {url} with HTTP {error.code}: {detail}") from None
    except (urllib.error.URLError, TimeoutError) as error:
        raise ForgeError(f"{forge.name} could not be reached at {url}: {error}") from None
