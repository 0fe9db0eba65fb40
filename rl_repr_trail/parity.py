r"""This project's scores beside the original rl_repr code's on the same configurations.

  python -m rl_repr_trail.parity RUN_DIR

RUN_DIR holds the runs of launch/parity.sh (the configurations of docs/reference.md,
"The original code on this project's data", several seeds). The original was run once (seed 0) per configuration, so its figure is one draw:
it is within seed noise when it lies within two sample stds of this project's seeds
(widened for a single new draw, 2 std sqrt(1 + 1/n)). A figure the original made on other
data than this project can generate today is printed with that said, and no verdict.
Writes the table to parity.md in RUN_DIR.
"""

from __future__ import annotations

import dataclasses
import os
import sys

from absl import app
import numpy as np

from rl_repr_trail.core import errors
from rl_repr_trail import summarize


@dataclasses.dataclass(frozen=True)
class OriginalScore:
  task: str
  offline: str           # summarize's offline label.
  method: str
  final: float           # Final normalized score, seed 0.
  same_data: bool        # Whether today's generated files are the ones it ran on.
  note: str = ''


# docs/reference.md, "The original code on this project's data": the original code under TF 2.15.1 on this project's generated files.
ORIGINAL = (
    OriginalScore('hopper', 'medium (gen)', 'TRAIL EBM', 18.7, True),
    OriginalScore('hopper', 'medium (gen)', 'BC', 98.7, True),
    OriginalScore('ant', 'medium (gen)', 'TRAIL EBM', 71.4, False,
                  'the original ran on the earlier ant data (real contact forces)'),
    OriginalScore('ant', 'medium (gen)', 'BC', 46.7, False,
                  'the original ran on the earlier ant data (real contact forces)'),
)


def verdict(original: float, scores: np.ndarray) -> str:
  """Whether one draw `original` lies within this project's seed noise."""
  if len(scores) < 2:
    return 'one seed: noise unknown'
  bound = 2 * summarize.sample_std(scores) * np.sqrt(1 + 1 / len(scores))
  return 'within seed noise' if abs(original - scores.mean()) <= bound else 'outside seed noise'


def report(run_dir: str) -> str:
  """The markdown table of every original figure whose task, data and method RUN_DIR has
  runs of (the original used 10,000 expert transitions; other sizes are for tests)."""
  tables = summarize.group(summarize.read_runs(run_dir))
  lines = ['| task | offline data | expert transitions | method | original (seed 0) | '
           'this project, mean +- std (n) | seed 0 | difference | verdict |',
           '|---|---|---|---|---|---|---|---|---|']
  found = 0
  for size, ref in ((size, ref) for size in sorted(tables) for ref in ORIGINAL):
    runs = tables[size].get((ref.task, ref.offline), {}).get(ref.method)
    if not runs:
      continue
    found += 1
    scores = np.array([r['final']['normalized_score_mean'] for r in runs])
    seed0 = [r['final']['normalized_score_mean'] for r in runs if r['seed'] == 0]
    mean, std = scores.mean(), summarize.sample_std(scores)
    judged = verdict(ref.final, scores) if ref.same_data else f'not comparable: {ref.note}'
    lines.append(f'| {ref.task} | {ref.offline} | {size} | {ref.method} | {ref.final:.1f} | '
                 f'{mean:.1f} +- {std:.1f} ({len(scores)}) | '
                 f'{f"{seed0[0]:.1f}" if seed0 else "-"} | {mean - ref.final:+.1f} | {judged} |')
  if not found:
    raise errors.InputError(f'{run_dir} holds no run of a configuration the original was '
                            'run on (launch/parity.sh makes them).')
  return '\n'.join(lines) + '\n'


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    raise app.UsageError('usage: python -m rl_repr_trail.parity RUN_DIR')
  try:
    text = report(argv[1])
  except errors.InputError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  print(text)
  with open(os.path.join(argv[1], 'parity.md'), 'w') as f:
    f.write(text)


if __name__ == '__main__':
  app.run(main)
