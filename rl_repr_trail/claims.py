r"""Checks the paper's claims on a directory of runs (launch/claims.sh makes one).

  python -m rl_repr_trail.claims RUN_DIR

Claims (docs/reference.md, "Baselines and claims"): TRAIL improves on BC (by up to 4x), and stays ahead of
BC when the offline data is random, where the temporal-skill methods degrade. Per
task, offline data and expert size it reports the ratio of each method's final
normalized score to BC's, whether TRAIL beats BC, and, for every method that ran on
both random and medium data, the ratio of its random-data score to its medium-data
score. Writes the report to claims.md beside summary.md.

A comparison of two methods on a cell counts one way or the other only when the 95%
bootstrap interval of the probability that one's run outscores the other's (rliable's
probability of improvement, intervals.py) lies wholly above or below 1/2; otherwise it
is "within noise", and with one seed on either side the noise is unknown, so it is
reported apart. Each claim's verdict gives that probability across its cells with its
interval, and the scale it was measured at (steps, seeds, expert sizes).
"""

from __future__ import annotations

import collections
import os
import sys

from absl import app

from rl_repr_trail.core import errors
from rl_repr_trail.data import names
from rl_repr_trail.experiment import intervals
from rl_repr_trail.methods import registry
from rl_repr_trail import summarize


OUTCOMES = ('yes', 'no', 'within noise', 'yes, one seed', 'no, one seed')
PAPER_RATIO = 4.0  # "TRAIL improves on BC by up to 4x".


def _mean(runs: list[dict]) -> float:
  return float(summarize.scores(runs, 'final').mean())


def compare(higher: list[dict], lower: list[dict]) -> str:
  """Whether the first runs' final score is above the second's beyond the seed noise
  (the interval of P(first > second) excludes 1/2): one of OUTCOMES."""
  a, b = summarize.scores(higher, 'final'), summarize.scores(lower, 'final')
  answer = 'yes' if a.mean() > b.mean() else 'no'
  if min(len(a), len(b)) < 2:
    return f'{answer}, one seed'
  found = intervals.improvement_probability(a, b)
  if found.low > 0.5:
    return 'yes'
  return 'no' if found.high < 0.5 else 'within noise'


def _tally(found: list[str]) -> str:
  if not found:
    return 'not measured (methods or data missing)'
  counts = collections.Counter(found)
  return f'{counts["yes"]} of {len(found)} comparisons (' + ', '.join(
      f'{outcome} {counts[outcome]}' for outcome in OUTCOMES if counts[outcome]) + ')'


def _ratio(a: float, b: float) -> str:
  return f'{a / b:.2f}x' if b > 0 else 'n/a (BC scored <= 0)'


def _scale(tables: dict) -> str:
  """The steps, seeds, expert sizes and tasks the runs of `tables` were made with."""
  runs = {r['dir']: r for table in tables.values() for cells in table.values()
          for found in cells.values() for r in found}.values()
  seeds = [len(found) for table in tables.values() for cells in table.values()
           for found in cells.values()]
  span = lambda values: '/'.join(str(v) for v in sorted(set(values)))
  return (f'tasks {", ".join(sorted({r["task"] for r in runs}))}; expert data '
          f'{span(tables)} transitions; pretraining '
          f'{span(r["pretrain_steps"] for r in runs if r.get("pretrain_steps"))} '
          f'and downstream {span(r.get("downstream_steps", 0) for r in runs)} steps; '
          f'{span(seeds)} seeds per cell')


def _probability(pairs: list[tuple[list[dict], list[dict]]]) -> str:
  """P(first > second) across the cells of `pairs`, with its interval."""
  pairs = [(a, b) for a, b in pairs if min(len(a), len(b)) >= 2]
  if not pairs:
    return 'no cell with 2 seeds on both sides'
  x = summarize.stack_seeds([a for a, _ in pairs])
  y = summarize.stack_seeds([b for _, b in pairs])
  return f'P = {intervals.improvement_probability(x, y).text(2)} over {len(pairs)} cells'


def report(tables: dict) -> tuple[str, dict]:
  """The claims report as markdown, and the verdicts by claim."""
  lines, verdicts = [], {'trail_beats_bc': [], 'trail_beats_bc_on_random': [],
                         'skills_degrade_on_random': []}
  pairs = {claim: [] for claim in verdicts}
  ratios = []  # (interval of TRAIL / BC, cell)
  bc, trail_methods, skill_methods = (registry.baseline_label(), registry.labels('trail'),
                                      registry.labels('skill'))
  for size in sorted(tables):
    table = tables[size]
    others = [m for m in summarize.methods_of(table) if m != bc]
    lines += [f'### Final normalized score relative to {bc}, expert data {size} transitions', '',
              '| ' + ' | '.join(['task', 'offline data', bc, *others]) + ' |',
              '|---|---|---|' + '---|' * len(others)]
    for task, label in sorted(table):
      cells = table[(task, label)]
      if bc not in cells:
        continue
      bc_score = _mean(cells[bc])
      row = [f'{_mean(cells[m]):.1f} ({_ratio(_mean(cells[m]), bc_score)})' if m in cells
             else '-' for m in others]
      lines.append('| ' + ' | '.join([task, label, f'{bc_score:.1f}', *row]) + ' |')
      for m in trail_methods:
        if m in cells:
          outcome = compare(cells[m], cells[bc])
          verdicts['trail_beats_bc'].append(outcome)
          pairs['trail_beats_bc'].append((cells[m], cells[bc]))
          if min(len(cells[m]), len(cells[bc])) >= 2 and bc_score > 0:
            ratios.append((intervals.ratio_of_means(summarize.scores(cells[m], 'final'),
                                                    summarize.scores(cells[bc], 'final')),
                           f'{m}, {task} {label}, expert {size}'))
          if names.kind_of_label(label) == 'random':
            verdicts['trail_beats_bc_on_random'].append(outcome)
            pairs['trail_beats_bc_on_random'].append((cells[m], cells[bc]))
    lines.append('')
    by_kind = {(task, names.kind_of_label(label)): cells for (task, label), cells in table.items()}
    kind_pairs = [(task, m) for (task, kind) in sorted(by_kind) if kind == 'random'
                  for m in others if m in by_kind[(task, kind)]
                  and m in by_kind.get((task, 'medium'), {})]
    if kind_pairs:
      lines += [f'### Random-data score over medium-data score, expert data {size}', '',
                '| task | method | random | medium | ratio |', '|---|---|---|---|---|']
      for task, m in kind_pairs:
        random_runs, medium_runs = by_kind[(task, 'random')][m], by_kind[(task, 'medium')][m]
        random_score, medium_score = _mean(random_runs), _mean(medium_runs)
        lines.append(f'| {task} | {m} | {random_score:.1f} | {medium_score:.1f} | '
                     f'{_ratio(random_score, medium_score)} |')
        if m in skill_methods:
          verdicts['skills_degrade_on_random'].append(compare(medium_runs, random_runs))
          pairs['skills_degrade_on_random'].append((medium_runs, random_runs))
      lines.append('')
  lines += ['### Verdicts', '', f'Measured at: {_scale(tables)}.', '',
            'A cell counts when the 95% bootstrap interval of the probability that a run of '
            'one method outscores a run of the other lies above (yes) or below (no) 1/2; '
            '"one seed": the noise is unknown. P is that probability across the cells, '
            'with its 95% stratified bootstrap interval.', '']
  for claim, text in (('trail_beats_bc', 'TRAIL beats BC'),
                      ('trail_beats_bc_on_random', 'TRAIL beats BC on random offline data'),
                      ('skills_degrade_on_random', 'skill methods score lower on random data '
                       'than on medium data')):
    found = f'; {_probability(pairs[claim])}' if pairs[claim] else ''
    lines.append(f'- {text}: {_tally(verdicts[claim])}{found}')
  if ratios:
    best, cell = max(ratios, key=lambda r: r[0].point)
    if best.high < PAPER_RATIO:
      reached = f'its interval lies below {PAPER_RATIO:g}x: not reproduced at this scale'
    elif best.low > PAPER_RATIO:
      reached = f'its interval lies above {PAPER_RATIO:g}x'
    else:
      reached = f'{PAPER_RATIO:g}x lies within its interval'
    lines.append(f'- TRAIL improves on BC by up to {PAPER_RATIO:g}x: the largest ratio of mean '
                 f'scores is {best.text(2)}x ({cell}); {reached}')
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
