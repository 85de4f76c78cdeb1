"""deploy/ci/pull_request_comment.py: one comment per pull request, found by its marker and edited in place, on the
GitHub and GitLab stand-ins (tests/forge_stand_in.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.forge_stand_in import GITHUB_LIMIT, TOKEN, ForgeState, Thread, forge

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "ci"))
from pull_request_comment import CUT, Forge, ForgeError, fit, upsert

MARKER = "<!-- hn-data-diff -->"
REPOSITORY, PROJECT = "acme/platform", "17"


def github(url: str, number: int = 42, token: str = TOKEN) -> Forge:
    return Forge.github(url, REPOSITORY, number, token)


def gitlab(url: str, iid: int = 7, token: str = TOKEN) -> Forge:
    return Forge.gitlab(f"{url}/api/v4", PROJECT, iid, token)


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_a_second_push_edits_the_comment_instead_of_adding_one(kind: str) -> None:
    state = ForgeState()
    thread = Thread()
    (state.github if kind == "github" else state.gitlab)[(REPOSITORY if kind == "github" else PROJECT, 42)] = thread
    # Other people's comments, more than a page of them, before and after the report's.
    for number in range(130):
        state.add(thread, f"review comment {number}")
    with forge(state) as url:
        target = github(url) if kind == "github" else gitlab(url, 42)
        first = upsert(target, MARKER, "first push")
        for number in range(130, 260):
            state.add(thread, f"review comment {number}")
        second = upsert(target, MARKER, "second push")

    assert first[0] == "created"
    assert second == ("updated", first[1])
    reports = [c for c in thread.comments if c["body"].startswith(MARKER)]
    assert [c["body"] for c in reports] == [f"{MARKER}\nsecond push"]
    assert len(thread.comments) == 261
    edits = [method for method, _ in state.requests if method in ("PATCH", "PUT", "POST")]
    assert edits == ["POST", "PATCH" if kind == "github" else "PUT"]


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_a_person_s_comment_or_a_system_note_starting_with_the_marker_is_never_edited(kind: str) -> None:
    state = ForgeState()
    thread = Thread()
    (state.github if kind == "github" else state.gitlab)[(REPOSITORY if kind == "github" else PROJECT, 42)] = thread
    quoted = state.add(thread, f"{MARKER}\nquoting the report")
    system = state.add(thread, f"{MARKER}\nmentioned in a commit", system=True)
    with forge(state) as url:
        action, _ = upsert(github(url) if kind == "github" else gitlab(url, 42), MARKER, "report")

    assert action == "created"
    assert (quoted["body"], system["body"]) == (f"{MARKER}\nquoting the report", f"{MARKER}\nmentioned in a commit")


def test_a_report_longer_than_the_forge_allows_is_cut_at_a_line_and_says_so() -> None:
    state = ForgeState()
    state.github[(REPOSITORY, 42)] = thread = Thread()
    body = "\n".join(f"| row {n} | {'x' * 50} |" for n in range(2_000))

    with forge(state) as url:
        upsert(github(url), MARKER, body)

    (comment,) = thread.comments
    assert len(comment["body"]) <= GITHUB_LIMIT
    assert comment["body"].endswith(CUT)
    assert comment["body"][: -len(CUT)].endswith("|")  # a whole line
    assert fit("short", 100) == "short"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda url: github(url, token="wrong"), "GitHub answered GET"),
        (lambda url: github(url, number=43), "HTTP 404"),
        (lambda url: gitlab(url, token="wrong"), "401 Unauthorized"),
    ],
)
def test_a_refusal_names_the_forge_the_request_and_the_answer(make, message: str) -> None:
    state = ForgeState()
    state.github[(REPOSITORY, 42)] = Thread()
    state.gitlab[(PROJECT, 7)] = Thread()
    with forge(state) as url, pytest.raises(ForgeError, match=message):
        upsert(make(url), MARKER, "report")


def test_an_unreachable_forge_is_an_error_not_a_hang() -> None:
    with pytest.raises(ForgeError, match="could not be reached"):
        upsert(github("http://127.0.0.1:9"), MARKER, "report")
