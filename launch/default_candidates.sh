#!/usr/bin/env bash
# Candidates for the no-flags default task: launch/configs/default_candidates.json (ant,
# one expert episode, medium and random offline data, BC and TRAIL EBM, 3 seeds) with
# the paper's settings (ROOT/entropy) and with entropy_term false (ROOT/noentropy), each
# summarized, with claims' ratios and verdicts. docs/results.md lists what it gave.
#
#   launch/default_candidates.sh [sweep flags: --parallel=N --root=DIR --override=JSON --check --estimate]
# (default root runs/default_candidates; an --override applies to both passes).
source "$(dirname "$0")/common.sh"
top=runs/default_candidates
override='{}'
args=()
for arg in "$@"; do
  case "$arg" in
    --root=*) top="${arg#--root=}" ;;
    --override=*) override="${arg#--override=}" ;;
    *) args+=("$arg") ;;
  esac
done
noentropy="$("$python" -c 'import json, sys
o = json.loads(sys.argv[1]); o.setdefault("settings", {})["entropy_term"] = False
print(json.dumps(o))' "$override")"
run_table default candidates --root="$top/entropy" --override="$override" "${args[@]}"
"$python" -m rl_repr_trail.claims "$top/entropy"
run_table default candidates --root="$top/noentropy" --override="$noentropy" "${args[@]}"
"$python" -m rl_repr_trail.claims "$top/noentropy"
