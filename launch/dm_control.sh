#!/usr/bin/env bash
# The paper's DeepMind Control Suite table: every method on data generated with the
# collect tooling (SAC experts on dm_control, flattened observations), several seeds,
# then a summary table and plots (runs/dm_control_SCALE/summary.md, plots/).
#
#   launch/dm_control.sh [quick|paper] [sweep flags: --parallel=N --root=DIR --override=JSON --check --estimate]
#
# quick (default): cartpole_swingup, checks the whole pipeline in minutes.
# paper: cartpole_swingup, cheetah_run, walker_walk, quadruped_run, with random, medium and
# medium-replay data generated from the policies bundled for each (docs/data.md).
source "$(dirname "$0")/common.sh"
scale=quick
if [[ $# -gt 0 && "$1" != --* ]]; then scale="$1"; shift; fi
run_table dm_control "$scale" "$@"
