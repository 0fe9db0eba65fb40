# Sourced by the launch scripts: run_table NAME SCALE [sweep flags] runs the sweep of
# launch/configs/NAME_SCALE.json into runs/NAME_SCALE (or --root=DIR), then summarizes;
# with --check [--estimate] it prints the sweep's plan instead and runs nothing.
set -euo pipefail
python="${PYTHON:-python}"
launch_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

run_table() {
  local name="$1" scale="$2"
  shift 2
  local config="$launch_dir/configs/${name}_${scale}.json"
  if [[ ! -f "$config" ]]; then
    echo "usage: launch/${name}.sh [$(cd "$launch_dir/configs" && ls ${name}_*.json | sed "s/${name}_//; s/.json//" | paste -sd '|')] [sweep flags]" >&2
    exit 2
  fi
  root="runs/${name}_${scale}"
  local arg check=0
  for arg in "$@"; do
    [[ "$arg" == --root=* ]] && root="${arg#--root=}"
    [[ "$arg" == --check || "$arg" == --estimate ]] && check=1
  done
  "$python" -m rl_repr_trail.sweep "$config" --root="$root" "$@"
  # --check (--estimate) printed the plan and ran nothing: nothing to summarize, and the
  # script's later steps (claims, parity) are not run either.
  if [[ $check == 1 ]]; then exit 0; fi
  "$python" -m rl_repr_trail.summarize "$root"
}
