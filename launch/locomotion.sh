#!/usr/bin/env bash
# The paper's locomotion table: every method on D4RL-protocol locomotion data, several
# seeds, then a summary table and plots (runs/locomotion_SCALE/summary.md, plots/).
#
#   launch/locomotion.sh [quick|antkey|antreduced|paper] [sweep flags: --parallel=N --root=DIR --override=JSON --check --estimate]
#
# The scale names a config, launch/configs/locomotion_SCALE.json:
# quick (default): hopper, checks the whole pipeline in minutes.
# antkey: the key ant cells (BC, TRAIL EBM, TRAIL linear x random, medium, medium-replay
#   x 10k expert transitions x 3 seeds) at the paper's steps, 200k + 1M.
# antreduced: the whole ant table (all methods, 10k and 25k) at 100k + 200k steps.
# paper: the paper's whole table at its scale (days on a CPU).
# A rerun skips finished runs and resumes interrupted ones.
source "$(dirname "$0")/common.sh"
scale=quick
if [[ $# -gt 0 && "$1" != --* ]]; then scale="$1"; shift; fi
run_table locomotion "$scale" "$@"
