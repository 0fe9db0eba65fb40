#!/usr/bin/env bash
# Parity with the original rl_repr code: the configurations it was run on
# (docs/reference.md, "The original code on this project's data"), 3 seeds, then this project's scores beside the original's, with the
# difference and whether it is within seed noise (runs/parity_section10/parity.md).
#
#   launch/parity.sh [section10] [sweep flags: --parallel=N --root=DIR --override=JSON --check --estimate]
source "$(dirname "$0")/common.sh"
scale=section10
if [[ $# -gt 0 && "$1" != --* ]]; then scale="$1"; shift; fi
run_table parity "$scale" "$@"
"$python" -m rl_repr_trail.parity "$root"
