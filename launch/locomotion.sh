#!/usr/bin/env bash
# The paper's locomotion table: every method on D4RL-protocol locomotion data, several
# seeds, then a summary table and plots (runs/locomotion_SCALE/summary.md, plots/).
#
#   launch/locomotion.sh [quick|paper] [sweep flags: --parallel=N --root=DIR --override=JSON]
#
# quick (default): hopper, checks the whole pipeline in minutes.
# paper: the paper's scale, launch/configs/locomotion_paper.json (days on a CPU).
# A rerun skips finished runs and resumes interrupted ones.
source "$(dirname "$0")/common.sh"
scale=quick
if [[ $# -gt 0 && "$1" != --* ]]; then scale="$1"; shift; fi
run_table locomotion "$scale" "$@"
