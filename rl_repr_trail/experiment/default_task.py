"""The task `python -m rl_repr_trail.train_eval` runs without flags.

TRAIL (EBM) and BC on ant, the paper's main task, in its regime: plentiful medium data
offline and a single expert episode, with which BC falls short of the expert. The data
are generated from the bundled SAC policies (no download, D4RL-like: contact dims zero)
and the step counts cut down to fit about 15 minutes on 2 CPU cores. It was chosen by
measurement among candidates (launch/default_candidates.sh, docs/results.md); none of
them shows TRAIL ahead of BC beyond the seed noise at this scale, and the output says so.
$TRAIL_DEFAULT_SCALE (default 1) multiplies every data size and step count, so a test
can run the same task end to end in a fraction of the time.
"""

from __future__ import annotations

import os

from rl_repr_trail.core import errors
from rl_repr_trail.experiment import run_config
from rl_repr_trail.methods import registry


TASK = 'ant'
OFFLINE_KIND = 'medium'
OFFLINE_ROWS = 100_000
EXPERT_FILE_ROWS = 11_000   # The file the candidates were measured on ...
EXPERT_ROWS = 1_000         # ... of which its first episode is the expert data.
PRETRAIN_STEPS = 20_000
DOWNSTREAM_STEPS = 20_000
EVAL_INTERVAL = 5_000
METHODS = ('trail_ebm', 'bc')  # Registry names; the first pretrains.


def scale() -> float:
  text = os.environ.get('TRAIL_DEFAULT_SCALE', '1')
  try:
    value = float(text)
  except ValueError:
    value = -1.0
  if not 0 < value <= 1:
    raise errors.InputError(f'TRAIL_DEFAULT_SCALE={text}: expected a number in (0, 1].')
  return value


def configs(save_root: str | None = None, overrides: dict | None = None
            ) -> list[run_config.RunConfig]:
  """TRAIL EBM and BC on the same data, scaled by $TRAIL_DEFAULT_SCALE, then with
  `overrides` ({flag: value}, e.g. from the command line) applied to both."""
  k = scale()
  size = lambda n: max(int(n * k), 1)
  steps = lambda n: max(int(n * k), 10)
  save_root = save_root or os.path.join('runs', 'default')
  common = dict(
      offline_data=f'gen:{TASK}-{OFFLINE_KIND}-{size(OFFLINE_ROWS)}',
      expert_data=f'gen:{TASK}-expert-{size(EXPERT_FILE_ROWS)}',
      expert_size=size(EXPERT_ROWS), downstream_steps=steps(DOWNSTREAM_STEPS),
      eval_interval=steps(EVAL_INTERVAL), log_interval=steps(1_000),
      checkpoint_interval=steps(5_000), eval_episodes=10 if k == 1 else 2)
  common.update(overrides or {})
  out = []
  for name in METHODS:
    method = registry.get(name)
    # Flags given (in `common`) win over the default task's pretraining steps.
    settings = {'pretrain_steps': steps(PRETRAIN_STEPS), **common} if method.pretrains else common
    out.append(run_config.from_settings(
        dict(settings, method=name, save_dir=os.path.join(save_root, name))))
  return out


# Why this task, for the first line of its output (the numbers: docs/results.md).
WHY = ('the paper\'s main task in its regime, where BC with one episode falls short of the '
       'expert; over 3 seeds no candidate (launch/default_candidates.sh) showed TRAIL ahead of '
       'BC beyond the seed noise at this scale, this one included')


def side_by_side(results: list[dict]) -> str:
  """A markdown table of the runs' final and best scores, then the ratio of the first
  run's final score to the last's (TRAIL EBM over BC)."""
  lines = ['| method | final normalized score | final return | best normalized score |',
           '|---|---|---|---|']
  for r in results:
    lines.append(f'| {r["method"]} | {r["final"]["normalized_score_mean"]:.1f} '
                 f'+- {r["final"]["normalized_score_std"]:.1f} | {r["final"]["return_mean"]:.1f} '
                 f'| {r["best"]["normalized_score_mean"]:.1f} |')
  first, last = (r['final']['normalized_score_mean'] for r in (results[0], results[-1]))
  ratio = f'{first / last:.2f}x' if last > 0 else f'n/a ({results[-1]["method"]} scored <= 0)'
  lines += ['', f'{results[0]["method"]} / {results[-1]["method"]}, final normalized score: '
            f'{ratio}']
  return '\n'.join(lines)
