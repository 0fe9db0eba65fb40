#!/usr/bin/env bash
# The paper's locomotion table: every method on D4RL-protocol locomotion data, several
# seeds, then a summary table and plots.
#
#   launch/locomotion.sh [quick|paper] [sweep flags: --parallel=N --root=DIR --override=JSON]
#
# quick (default): hopper, minutes on 2 cores, checks the whole pipeline.
# paper: launch/configs/locomotion_paper.json, the paper's scale (days on a CPU).
# A rerun skips finished runs and resumes interrupted ones.
set -euo pipefail
scale="${1:-quick}"
[[ $# -gt 0 ]] && shift
case "$scale" in
  quick|paper) ;;
  *) echo "usage: $0 [quick|paper] [sweep flags]" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
root="runs/locomotion_${scale}"
for arg in "$@"; do
  [[ "$arg" == --root=* ]] && root="${arg#--root=}"
done
python="${PYTHON:-python}"
"$python" -m rl_repr_trail.sweep "$here/configs/locomotion_${scale}.json" --root="$root" "$@"
"$python" -m rl_repr_trail.summarize "$root"
