#!/usr/bin/env bash
# The paper's AntMaze table: every method on D4RL's antmaze files in gymnasium-robotics'
# AntMaze (D4RL's layouts, start and goal cells), success rate in percent, several seeds,
# then a summary table and plots (runs/antmaze_SCALE/summary.md, plots/).
#
#   launch/antmaze.sh [quick|paper] [sweep flags: --parallel=N --root=DIR --override=JSON --check --estimate]
#
# Needs D4RL's antmaze HDF5 files in $D4RL_DATASET_DIR (default ~/.d4rl/datasets) under
# the names D4RL downloads them to; when one is missing the sweep stops before any run and
# names every file it needs. quick: umaze; paper: umaze, medium, large.
source "$(dirname "$0")/common.sh"
scale=quick
if [[ $# -gt 0 && "$1" != --* ]]; then scale="$1"; shift; fi
run_table antmaze "$scale" "$@"
