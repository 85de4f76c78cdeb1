#!/usr/bin/env bash
# What a pull request changes: the runs that materialize its changed assets (and everything downstream) in its branch
# deployment, as the JSON document `python -m hn_assets.changes plan` prints.
#
#   deploy/ci/plan_changed_assets.sh <base branch's commit> <plan.json>
#
# The change is measured from where the pull request left the base branch (`git merge-base` of that commit and the
# checkout): what was merged to the base branch since is not the pull request's change. Those definitions are
# fingerprinted in a worktree with their own locked environment, and compared with this checkout's. A base that
# cannot be fingerprinted (a commit older than hn_assets.changes) counts as having no assets: every asset then runs
# in the clone, which is safe, and a warning says so. RECENT_PARTITIONS (default 3) bounds the partitions a changed
# partitioned asset runs. Needs the history down to the merge base (a full clone).
set -euo pipefail

warn() {
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then echo "::warning title=Data diff::$1"; else echo "warning: $1" >&2; fi
}

base_ref="${1:?usage: plan_changed_assets.sh <base branch commit> <plan.json>}"
plan="${2:?usage: plan_changed_assets.sh <base branch commit> <plan.json>}"
if ! git cat-file -e "${base_ref}^{commit}" 2>/dev/null; then
  echo "error: the base commit '$base_ref' is not in this checkout: fetch the full history (fetch-depth: 0, GIT_DEPTH: 0)" >&2
  exit 2
fi
if ! base_commit="$(git merge-base "$base_ref" HEAD)"; then
  echo "error: $base_ref and the checkout share no history: cannot tell what the pull request changes" >&2
  exit 2
fi

scratch="$(mktemp -d)"
worktree="$scratch/base"
trap 'git worktree remove --force "$worktree" >/dev/null 2>&1 || true; rm -rf "$scratch"; git worktree prune' EXIT

git worktree add --detach "$worktree" "$base_commit" >&2
if ! (cd "$worktree" && uv run --locked --quiet python -m hn_assets.changes fingerprint) > "$scratch/base.json"; then
  warn "the base commit $base_commit could not be fingerprinted; every asset runs in the clone"
  echo "{}" > "$scratch/base.json"
fi
uv run --locked --quiet python -m hn_assets.changes plan "$scratch/base.json" \
  --recent-partitions "${RECENT_PARTITIONS:-3}" > "$plan"
echo "Plan of the change since $base_commit:" >&2
cat "$plan" >&2
