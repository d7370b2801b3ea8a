#!/usr/bin/env bash
# Offline preview of a pull request: plan every stack on the pull request and on its base branch, compare the
# plans, and write the pull-request comment (verdict first, under GitHub's size limit) and the full report.
#
# .github/workflows/preview.yml runs it; it runs anywhere with two checkouts and two llmscale commands:
#   PR_DIR, BASE_DIR              checkouts of the pull request and of its base branch    (default: pr, base)
#   PR_LLMSCALE, BASE_LLMSCALE    the llmscale installed from each          (default: <checkout>-venv/bin/llmscale)
#   OUT                           output folder                                          (default: out)
#   HEAD_SHA, BASE_SHA            commits named in the comment                           (optional)
# It writes OUT/stacks/<stack>/ (status, new.json, base.json, summary.md, error.txt, failing), OUT/comment.md,
# OUT/full.md and OUT/failed (one failing stack a line). In GitHub Actions it also appends the full report to
# $GITHUB_STEP_SUMMARY and sets `failed` in $GITHUB_OUTPUT. Exit 0 once the reports are written, whatever they
# say: the workflow fails on `failed` after posting the comment, so that findings are reported, not hidden.
#
# `pr-preview.sh aws-stacks [DIR]` prints the stacks in DIR (default: stacks) on platform aws as a JSON list,
# for the cloud preview's matrix.
set -euo pipefail

if [ "${1:-}" = aws-stacks ]; then
  stacks=()
  for file in "${2:-stacks}"/Pulumi.*.yaml; do
    [ -e "$file" ] || continue
    stack="$(basename "$file" .yaml)"
    stack="${stack#Pulumi.}"
    if [[ "$stack" =~ ^[A-Za-z0-9_.-]+$ ]] && grep -Eq '^[[:space:]]*llmscale:platform:[[:space:]]*"?aws"?[[:space:]]*$' "$file"; then
      stacks+=("\"$stack\"")
    fi
  done
  joined="$(IFS=,; echo "${stacks[*]:-}")"
  echo "[$joined]"
  exit 0
fi

PR_DIR="${PR_DIR:-pr}"
BASE_DIR="${BASE_DIR:-base}"
OUT="${OUT:-out}"
PR_LLMSCALE="${PR_LLMSCALE:-pr-venv/bin/llmscale}"
BASE_LLMSCALE="${BASE_LLMSCALE:-base-venv/bin/llmscale}"

# Commands given as paths are made absolute: plans run inside each checkout.
absolute() { if [[ "$1" == */* && "$1" != /* ]]; then echo "$PWD/$1"; else echo "$1"; fi; }
PR_LLMSCALE="$(absolute "$PR_LLMSCALE")"
BASE_LLMSCALE="$(absolute "$BASE_LLMSCALE")"
mkdir -p "$OUT/stacks"
OUT="$(cd "$OUT" && pwd)"
failed=()

base_runs() { [[ "$BASE_LLMSCALE" != */* || -x "$BASE_LLMSCALE" ]]; }

shopt -s nullglob
for file in "$PR_DIR"/stacks/Pulumi.*.yaml; do
  stack="$(basename "$file" .yaml)"
  stack="${stack#Pulumi.}"
  if [[ ! "$stack" =~ ^[A-Za-z0-9_.-]+$ ]]; then
    echo "::warning::skipping $file: not a valid stack name"
    continue
  fi
  dir="$OUT/stacks/$stack"
  mkdir -p "$dir"

  echo "::group::llmscale plan $stack (pull request)"
  # Exit 1 means findings: the plan is still written and reported. Exit 2 means an invalid stack.
  rc=0
  (cd "$PR_DIR" && "$PR_LLMSCALE" plan "$stack" --json --markdown "$dir/summary.md") > "$dir/new.json" 2> "$dir/new.err" || rc=$?
  cat "$dir/new.err" >&2
  echo "::endgroup::"
  if [ ! -s "$dir/new.json" ]; then
    rm -f "$dir/new.json"
    if [ "$rc" -eq 2 ]; then
      echo invalid > "$dir/status"
      # llmscale never echoes config values in its errors, so they are safe to post.
      tail -n 30 "$dir/new.err" > "$dir/error.txt"
      failed+=("$stack (invalid stack)")
    else
      echo failed > "$dir/status"
      echo "\`llmscale plan\` exited $rc; see the job log." > "$dir/error.txt"
      failed+=("$stack (llmscale plan failed)")
    fi
    continue
  fi
  if [ "$rc" -ne 0 ]; then
    touch "$dir/failing"
    failed+=("$stack (mandatory policy violations or schema errors)")
  fi

  if [ ! -f "$BASE_DIR/stacks/Pulumi.$stack.yaml" ]; then
    echo new > "$dir/status"
    continue
  fi
  if ! base_runs; then
    echo unusable > "$dir/status"
    echo "llmscale from the base branch is not installed; see the job log." > "$dir/error.txt"
    continue
  fi
  echo "::group::llmscale plan $stack (base branch)"
  base_rc=0
  (cd "$BASE_DIR" && "$BASE_LLMSCALE" plan "$stack" --json) > "$dir/base.json" 2> "$dir/base.err" || base_rc=$?
  cat "$dir/base.err" >&2
  echo "::endgroup::"
  if [ -s "$dir/base.json" ]; then
    echo compared > "$dir/status"
  else
    echo unusable > "$dir/status"
    echo "no plan on the base branch (llmscale exited $base_rc); see the job log." > "$dir/error.txt"
  fi
done

for file in "$BASE_DIR"/stacks/Pulumi.*.yaml; do
  stack="$(basename "$file" .yaml)"
  stack="${stack#Pulumi.}"
  if [ ! -f "$PR_DIR/stacks/Pulumi.$stack.yaml" ] && [[ "$stack" =~ ^[A-Za-z0-9_.-]+$ ]]; then
    mkdir -p "$OUT/stacks/$stack"
    echo removed > "$OUT/stacks/$stack/status"
  fi
done

intro="Offline plans of every stack in \`stacks/\`"
if [ -n "${HEAD_SHA:-}" ]; then intro+=" at ${HEAD_SHA:0:7}"; fi
intro+=", compared with the base branch"
if [ -n "${BASE_SHA:-}" ]; then intro+=" at ${BASE_SHA:0:7}"; fi
intro+=". No cloud credentials were used: \`pulumi preview\` against the real stacks is authoritative."

"$PR_LLMSCALE" diff-comment "$OUT/stacks" --intro "$intro" > "$OUT/comment.md"
"$PR_LLMSCALE" diff-comment "$OUT/stacks" --intro "$intro" --full > "$OUT/full.md" 2> /dev/null

printf '%s\n' "${failed[@]}" | sed '/^$/d' > "$OUT/failed"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$OUT/full.md" >> "$GITHUB_STEP_SUMMARY"; fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  joined="$(printf '%s; ' "${failed[@]}")"
  echo "failed=${joined%; }" >> "$GITHUB_OUTPUT"
fi
