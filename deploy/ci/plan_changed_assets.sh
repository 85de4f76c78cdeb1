#!/usr/bin/env bash
# What a pull request changes: the runs that materialize its changed assets (and everything downstream) in its branch
# deployment, as the JSON document `python -m hn_assets.changes plan` prints.
#
#   deploy/ci/plan_changed_assets.sh <base commit> <plan.json>
#
# The base commit's definitions (production's code: the pull request's base) are fingerprinted in a worktree with
# their own locked environment, and compared with this checkout's. A base that cannot be fingerprinted (a commit
# older than hn_assets.changes) counts as having no assets: every asset then runs in the clone, which is safe, and
# a warning says so. RECENT_PARTITIONS (default 3) bounds the partitions a changed partitioned asset runs.
set -euo pipefail

base_commit="$1"
plan="$2"
scratch="$(mktemp -d)"
worktree="$scratch/base"
trap 'git worktree remove --force "$worktree" >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT

git worktree add --detach "$worktree" "$base_commit" >&2
if ! (cd "$worktree" && uv run --locked --quiet python -m hn_assets.changes fingerprint) > "$scratch/base.json"; then
  echo "::warning title=Data diff::the base commit $base_commit could not be fingerprinted; every asset runs in the clone"
  echo "{}" > "$scratch/base.json"
fi
uv run --locked --quiet python -m hn_assets.changes plan "$scratch/base.json" \
  --recent-partitions "${RECENT_PARTITIONS:-3}" > "$plan"
echo "Plan of the change against $base_commit:" >&2
cat "$plan" >&2
