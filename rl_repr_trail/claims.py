r"""Checks the paper's claims on a directory of runs (launch/claims.sh makes one).

  python -m rl_repr_trail.claims RUN_DIR

Claims (TRAIL.md section 5): TRAIL improves on BC (by up to 4x), and stays ahead of
BC when the offline data is random, where the temporal-skill methods degrade. Per
task, offline data and expert size it reports the ratio of each method's final
normalized score to BC's, whether TRAIL beats BC, and, for every method that ran on
both random and medium data, the ratio of its random-data score to its medium-data
score. Writes the report to claims.md beside summary.md.

A comparison of two mean scores counts one way or the other only when the difference
is more than two standard errors of the difference (sample std over seeds); otherwise
it is "within noise", and with one seed on either side the noise is unknown, so it is
reported apart.
"""

from __future__ import annotations

import collections
import os
import sys

from absl import app
import numpy as np

from rl_repr_trail import errors
from rl_repr_trail import summarize

TRAIL_METHODS = ('TRAIL EBM', 'TRAIL linear')
SKILL_METHODS = ('OPAL', 'SPiRL', 'SkiLD')
NOISE_SE = 2.0  # A difference counts beyond this many standard errors of it.
OUTCOMES = ('yes', 'no', 'within noise', 'yes, one seed', 'no, one seed')


def _mean(runs: list[dict]) -> float:
  return summarize.score_stats(runs, 'final')[0]


def compare(higher: list[dict], lower: list[dict]) -> str:
  """Whether the first runs' final score is above the second's, beyond the seed noise:
  one of OUTCOMES."""
  (mean_a, std_a, n_a), (mean_b, std_b, n_b) = (
      summarize.score_stats(runs, 'final') for runs in (higher, lower))
  diff = mean_a - mean_b
  answer = 'yes' if diff > 0 else 'no'
  if min(n_a, n_b) < 2:
    return f'{answer}, one seed'
  se = np.sqrt(std_a ** 2 / n_a + std_b ** 2 / n_b)
  return answer if abs(diff) > NOISE_SE * se else 'within noise'


def _tally(found: list[str]) -> str:
  if not found:
    return 'not measured (methods or data missing)'
  counts = collections.Counter(found)
  return f'{counts["yes"]} of {len(found)} comparisons (' + ', '.join(
      f'{outcome} {counts[outcome]}' for outcome in OUTCOMES if counts[outcome]) + ')'


def _ratio(a: float, b: float) -> str:
  return f'{a / b:.2f}x' if b > 0 else 'n/a (BC scored <= 0)'


def _kind(label: str) -> str:
  """'random (gen)' and 'random-v2' are both random data."""
  return label.split(' ')[0].rsplit('-v', 1)[0]


def report(tables: dict) -> tuple[str, dict]:
  """The claims report as markdown, and the verdicts by claim."""
  lines, verdicts = [], {'trail_beats_bc': [], 'trail_beats_bc_on_random': [],
                         'skills_degrade_on_random': []}
  for size in sorted(tables):
    table = tables[size]
    methods = [m for m in summarize.methods_of(table) if m != 'BC']
    lines += [f'### Final normalized score relative to BC, expert data {size} transitions', '',
              '| task | offline data | BC | ' + ' | '.join(methods) + ' |',
              '|---|---|---|' + '---|' * len(methods)]
    for task, label in sorted(table):
      cells = table[(task, label)]
      if 'BC' not in cells:
        continue
      bc = _mean(cells['BC'])
      row = [f'{_mean(cells[m]):.1f} ({_ratio(_mean(cells[m]), bc)})' if m in cells else '-'
             for m in methods]
      lines.append(f'| {task} | {label} | {bc:.1f} | ' + ' | '.join(row) + ' |')
      for m in TRAIL_METHODS:
        if m in cells:
          outcome = compare(cells[m], cells['BC'])
          verdicts['trail_beats_bc'].append(outcome)
          if _kind(label) == 'random':
            verdicts['trail_beats_bc_on_random'].append(outcome)
    lines.append('')
    by_kind = {(task, _kind(label)): cells for (task, label), cells in table.items()}
    pairs = [(task, m) for (task, kind) in sorted(by_kind) if kind == 'random'
             for m in methods if m in by_kind[(task, kind)]
             and m in by_kind.get((task, 'medium'), {})]
    if pairs:
      lines += [f'### Random-data score over medium-data score, expert data {size}', '',
                '| task | method | random | medium | ratio |', '|---|---|---|---|---|']
      for task, m in pairs:
        random_runs, medium_runs = by_kind[(task, 'random')][m], by_kind[(task, 'medium')][m]
        random_score, medium_score = _mean(random_runs), _mean(medium_runs)
        lines.append(f'| {task} | {m} | {random_score:.1f} | {medium_score:.1f} | '
                     f'{_ratio(random_score, medium_score)} |')
        if m in SKILL_METHODS:
          verdicts['skills_degrade_on_random'].append(compare(medium_runs, random_runs))
      lines.append('')
  lines += ['### Verdicts', '', f'A difference counts when it exceeds {NOISE_SE:g} standard '
            'errors of it over seeds; "one seed": the noise is unknown.', '']
  for claim, text in (('trail_beats_bc', 'TRAIL beats BC'),
                      ('trail_beats_bc_on_random', 'TRAIL beats BC on random offline data'),
                      ('skills_degrade_on_random', 'skill methods score lower on random data '
                       'than on medium data')):
    lines.append(f'- {text}: {_tally(verdicts[claim])}')
  return '\n'.join(lines), verdicts


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    raise app.UsageError('Usage: python -m rl_repr_trail.claims RUN_DIR')
  try:
    text, _ = report(summarize.group(summarize.read_runs(argv[1])))
  except errors.InputError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  path = os.path.join(argv[1], 'claims.md')
  with open(path + '.tmp', 'w') as f:
    f.write(f'# Claims checked on {argv[1]}\n\n{text}\n')
  os.replace(path + '.tmp', path)
  print(text)
  print(f'Wrote {path}.')


if __name__ == '__main__':
  app.run(main)
