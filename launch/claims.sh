#!/usr/bin/env bash
# Claim parity: the locomotion table at a reduced but meaningful scale (10 expert
# episodes, random and medium offline data, 3 seeds), then whether TRAIL beats BC and by
# what ratio, and whether the skill methods degrade on random data
# (runs/claims_reduced/claims.md).
#
#   launch/claims.sh [reduced] [sweep flags: --parallel=N --root=DIR --override=JSON --check --estimate]
source "$(dirname "$0")/common.sh"
scale=reduced
if [[ $# -gt 0 && "$1" != --* ]]; then scale="$1"; shift; fi
run_table claims "$scale" "$@"
"$python" -m rl_repr_trail.claims "$root"
