r"""Tables and plots of a directory of runs, in the paper's layout.

  python -m rl_repr_trail.summarize RUN_DIR [--output=DIR]

Reads every results.json under RUN_DIR and prints, per expert-data size, a
markdown table with a row per task and offline data (a cell) and a column per method:
the mean over seeds of the final and of the best normalized score with its 95%
bootstrap interval (rliable, see intervals.py) and n = seeds (one seed shows no
interval). Then, across the table's cells, each method's interquartile mean (IQM) and
mean with 95% stratified bootstrap intervals, and the probability that it improves on
BC. BC reads no offline data, so its runs fill every row of their task. Writes the
tables to summary.md (and as TensorBoard text in summary_tb/) and PNG plots to plots/
in the output directory (RUN_DIR by default): evaluation curves (mean over seeds, a band of one sample std) per row, a bar
chart per table (bars: means, whiskers: intervals) and the aggregate intervals per
table. Generated data is marked "(gen)" so that it never reads as D4RL's own.
"""

from __future__ import annotations

import collections
import json
import os
import re
import sys
import time

from absl import app
from absl import flags
import numpy as np

from rl_repr_trail.core import errors
from rl_repr_trail.core import settings
from rl_repr_trail.data import names
from rl_repr_trail.experiment import intervals
from rl_repr_trail.experiment import run_config
from rl_repr_trail.methods import registry


NO_OFFLINE = 'none'

FLAGS = flags.FLAGS
flags.DEFINE_string('output', None, 'Where summary.md and plots/ go (default: RUN_DIR).')


class SummaryError(errors.InputError):
  """A run directory that cannot be summarized."""


def offline_label(name: str | None) -> str:
  """'gen:ant-medium-100000' -> 'medium (gen)', 'ant-medium-v2' -> 'medium-v2'."""
  return names.label(name, NO_OFFLINE)


def read_runs(run_dir: str) -> list[dict]:
  """The results.json of every finished run under run_dir."""
  if not os.path.isdir(run_dir):
    raise SummaryError(f'{run_dir} is not a directory.')
  runs = []
  for parent, _, files in os.walk(run_dir):
    if 'results.json' in files:
      path = os.path.join(parent, 'results.json')
      try:
        with open(path) as f:
          result = json.load(f)
        result['row'] = (result['task'], offline_label(result['offline_data']))
        result['dir'] = parent
        runs.append(result)
      except (json.JSONDecodeError, KeyError) as e:
        raise SummaryError(f'{path}: not a results file of train_eval ({e!r}).') from None
  if not runs:
    raise SummaryError(f'{run_dir} holds no finished run (no results.json below it).')
  _name_settings(runs)
  return runs


# Settings that place a run in a cell or a seed, not in a column.
_PLACE = {'offline_data', 'expert_data', 'env', 'expert_size', 'seed', 'method'}


def _name_settings(runs: list[dict]) -> None:
  """Where runs of one method were made with different settings (a sweep's grid), their
  column label names the settings that differ: 'TRAIL EBM (downstream_learning_rate=0.0003)'."""
  for r in runs:
    path = os.path.join(r['dir'], 'config.json')
    r['settings'] = {}
    if os.path.exists(path):
      with open(path) as f:
        config = run_config.from_saved(json.load(f))
      identity = run_config.identity_flags(config)
      r['settings'] = {k: v for k, v in config.flags().items()
                       if k in identity and k not in _PLACE}
  for label in {r['method'] for r in runs}:
    mine = [r for r in runs if r['method'] == label]
    keys = sorted({k for r in mine for k in r['settings']})
    varied = [k for k in keys if len({json.dumps(r['settings'].get(k)) for r in mine}) > 1]
    for r in mine:
      if varied:
        r['method'] = f'{label} (' + ', '.join(
            f'{k}={settings.value_text(r["settings"].get(k))}' for k in varied) + ')'


def failed_runs(run_dir: str) -> list[str]:
  """'DIR: error line' of each run below run_dir that stopped with an error (a train_eval
  log with an 'error:' line and no results.json)."""
  failed = []
  for parent, _, files in os.walk(run_dir):
    if 'train_eval.log' in files and 'results.json' not in files:
      with open(os.path.join(parent, 'train_eval.log'), errors='replace') as f:
        lines = [line.strip() for line in f if line.startswith('error: ')]
      if lines:
        failed.append(f'{os.path.relpath(parent, run_dir)}: {lines[-1]}')
  return sorted(failed)


def group(runs: list[dict]) -> dict[int, dict[tuple[str, str], dict[str, list[dict]]]]:
  """expert size -> (task, offline label) -> method -> runs (one per seed).

  A BC run goes to every row of its task and expert size that other methods have.
  """
  tables = collections.defaultdict(lambda: collections.defaultdict(
      lambda: collections.defaultdict(list)))
  for r in runs:
    if r['row'][1] != NO_OFFLINE:
      tables[r['expert_size']][r['row']][r['method']].append(r)
  for r in runs:
    if r['row'][1] == NO_OFFLINE:
      rows = [row for row in tables[r['expert_size']] if row[0] == r['task']] or [r['row']]
      for row in rows:
        tables[r['expert_size']][row][r['method']].append(r)
  return tables


def methods_of(table: dict) -> list[str]:
  """The table's method labels in the registry's (the paper's) order, then any others."""
  present = {m for cells in table.values() for m in cells}
  order = registry.labels()
  return [m for m in order if m in present] + sorted(present - set(order))


def sample_std(scores: np.ndarray, axis: int = 0) -> np.ndarray:
  """Std over seeds with Bessel's correction (ddof 1); 0 for a single seed."""
  return scores.std(axis=axis, ddof=1) if scores.shape[axis] > 1 else np.zeros_like(
      scores.mean(axis=axis))


def scores(runs: list[dict], which: str) -> np.ndarray:
  """The final or best normalized score of each run, in seed order."""
  ordered = sorted(runs, key=lambda r: r.get('seed', 0))
  return np.array([r[which]['normalized_score_mean'] for r in ordered], np.float64)


def cell_text(runs: list[dict], which: str = 'final') -> str:
  """'mean [low, high] (n)' over seeds, or 'mean (1)' for one seed."""
  values = scores(runs, which)
  if len(values) == 1:
    return f'{values[0]:.1f} (1)'
  return f'{intervals.mean(values).text()} ({len(values)})'


def stack_seeds(cells: list[list[dict]], which: str = 'final') -> np.ndarray:
  """[seeds, cells] of the runs of each cell: the first n seeds of each, n the fewest any
  cell has."""
  columns = [scores(runs, which) for runs in cells]
  n = min(len(c) for c in columns)
  return np.stack([c[:n] for c in columns], axis=1)


def matrix(table: dict, method: str, rows: list[tuple[str, str]], which: str = 'final'
           ) -> np.ndarray:
  """stack_seeds of a method's runs on `rows`."""
  return stack_seeds([table[row][method] for row in rows], which)


def aggregates(table: dict, which: str = 'final') -> dict[str, dict[str, intervals.Interval]]:
  """Per method, IQM and mean across the cells it ran on, with intervals, and (methods
  other than BC) P(method > BC) over the cells both ran on."""
  out, bc = {}, registry.baseline_label()
  for m in methods_of(table):
    rows = [row for row in sorted(table) if m in table[row]]
    values = matrix(table, m, rows, which)
    out[m] = {'IQM': intervals.iqm(values), 'mean': intervals.mean(values)}
    both = [row for row in rows if bc in table[row]]
    if m != bc and both:
      out[m]['P(> BC)'] = intervals.improvement_probability(
          matrix(table, m, both, which), matrix(table, bc, both, which))
  return out


def aggregates_markdown(table: dict, size: int, found: dict) -> list[str]:
  cells = len(table)
  lines = [f'### Aggregates of the final normalized score across the {cells} cells, expert '
           f'data {size} transitions (95% stratified bootstrap intervals)', '',
           '| method | cells | seeds | IQM | mean | P(method > BC) |', '|---|---|---|---|---|---|']
  for m, found_m in found.items():
    rows = [row for row in table if m in table[row]]
    seeds = matrix(table, m, sorted(rows)).shape[0]
    improvement = found_m['P(> BC)'].text(2) if 'P(> BC)' in found_m else '-'
    lines.append(f'| {m} | {len(rows)} | {seeds} | {found_m["IQM"].text()} | '
                 f'{found_m["mean"].text()} | {improvement} |')
  return lines + ['']


def markdown(tables: dict, found: dict[int, dict]) -> str:
  """The paper-layout tables, final and best, and the aggregates `found` (expert size ->
  aggregates()), for each expert size."""
  out = []
  for size in sorted(tables):
    table = tables[size]
    methods = methods_of(table)
    for which in ('final', 'best'):
      out.append(f'### {which.capitalize()} normalized score, expert data {size} transitions '
                 '(mean over seeds [95% bootstrap interval] (n))')
      out.append('')
      out.append('| task | offline data | ' + ' | '.join(methods) + ' |')
      out.append('|---|---|' + '---|' * len(methods))
      for task, label in sorted(table):
        cells = [cell_text(table[(task, label)][m], which) if m in table[(task, label)]
                 else '-' for m in methods]
        out.append(f'| {task} | {label} | ' + ' | '.join(cells) + ' |')
      out.append('')
    out += aggregates_markdown(table, size, found[size])
  return '\n'.join(out)


def _slug(text: str) -> str:
  return re.sub(r'[^a-z0-9]+', '_', text.lower()).strip('_')


def curve(runs: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Steps evaluated by every seed, and the mean and sample std of the score there."""
  steps = sorted(set.intersection(*[{e['step'] for e in r['evals']} for r in runs]))
  scores = np.array([[{e['step']: e['normalized_score_mean'] for e in r['evals']}[s]
                      for s in steps] for r in runs])
  return np.array(steps), scores.mean(axis=0), sample_std(scores)


def _save(fig, ax, path: str) -> str:
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  ax.legend(fontsize='small')
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def plot(tables: dict, plot_dir: str, found: dict[int, dict]) -> list[str]:
  """Evaluation curves per row, a bar chart per table and the aggregates `found` (expert
  size -> aggregates()) per table; returns the files written."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  os.makedirs(plot_dir, exist_ok=True)
  written = []
  for size in sorted(tables):
    table = tables[size]
    methods = methods_of(table)
    for (task, label), cells in sorted(table.items()):
      fig, ax = plt.subplots(figsize=(6, 4))
      for m in methods:
        if m in cells:
          steps, mean, std = curve(cells[m])
          ax.plot(steps, mean, label=f'{m} (n={len(cells[m])})')
          ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
      ax.set(title=f'{task}, offline {label}, expert {size}', xlabel='downstream step',
             ylabel='normalized score')
      written.append(_save(fig, ax, os.path.join(
          plot_dir, f'curves_{_slug(task)}_{_slug(label)}_expert{size}.png')))
    for which in ('final', 'best'):
      rows = sorted(table)
      fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(rows) * len(methods) / 3), 4))
      width = 0.8 / len(methods)
      for i, m in enumerate(methods):
        cell_means = [intervals.mean(scores(table[row][m], which)) if m in table[row]
                      else intervals.Interval(np.nan, np.nan, np.nan) for row in rows]
        means = np.array([c.point for c in cell_means])
        whiskers = np.nan_to_num(np.array([[c.point - c.low for c in cell_means],
                                           [c.high - c.point for c in cell_means]]))
        ax.bar(np.arange(len(rows)) + i * width, means, width, yerr=whiskers, label=m,
               capsize=2)
      ax.set_xticks(np.arange(len(rows)) + 0.4 - width / 2)
      ax.set_xticklabels([f'{t}\n{l}' for t, l in rows], fontsize='small')
      ax.set(title=f'{which} normalized score, expert {size} (95% intervals)',
             ylabel='normalized score')
      written.append(_save(fig, ax, os.path.join(plot_dir, f'bars_expert{size}_{which}.png')))
    shown = {m: {k: v for k, v in a.items() if k != 'P(> BC)'}
             for m, a in found[size].items()}
    written.append(intervals.plot_aggregates(
        shown, os.path.join(plot_dir, f'aggregates_expert{size}.png'),
        f'expert {size}: final score across {len(table)} cells, 95% intervals'))
  return written


def summarize(run_dir: str, output: str | None = None) -> str:
  """Writes summary.md and plots for run_dir; returns the markdown."""
  output = output or run_dir
  tables = group(read_runs(run_dir))
  found = {size: aggregates(table) for size, table in tables.items()}
  text = markdown(tables, found)
  failed = failed_runs(run_dir)
  if failed:
    text += ('\n\nLeft out, runs that stopped with an error:\n\n'
             + '\n'.join(f'- {line}' for line in failed) + '\n')
  os.makedirs(output, exist_ok=True)
  tmp = os.path.join(output, 'summary.md.tmp')
  with open(tmp, 'w') as f:
    f.write(f'# Summary of {run_dir}\n\n{text}\n')
  os.replace(tmp, os.path.join(output, 'summary.md'))
  write_tensorboard_text(os.path.join(output, TENSORBOARD_DIR), text)
  plot(tables, os.path.join(output, 'plots'), found)
  return text


TENSORBOARD_DIR = 'summary_tb'  # Beside the runs: `tensorboard --logdir RUN_DIR` shows it.


def write_tensorboard_text(logdir: str, text: str) -> None:
  """The summary's markdown (tables, intervals, IQM, P(> BC)) as TensorBoard text, in an
  event file of its own that replaces the one a previous summary wrote."""
  from tensorboard.compat.proto import event_pb2  # pylint: disable=g-import-not-at-top
  from tensorboard.plugins.text import summary_v2  # pylint: disable=g-import-not-at-top
  from tensorboard.summary.writer import event_file_writer  # pylint: disable=g-import-not-at-top
  os.makedirs(logdir, exist_ok=True)
  for name in os.listdir(logdir):
    if name.startswith('events.out.tfevents.'):
      os.remove(os.path.join(logdir, name))
  writer = event_file_writer.EventFileWriter(logdir)
  writer.add_event(event_pb2.Event(wall_time=time.time(), step=0,
                                   summary=summary_v2.text_pb('summary', text)))
  writer.close()


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    raise app.UsageError('Usage: python -m rl_repr_trail.summarize RUN_DIR [--output=DIR]')
  try:
    text = summarize(argv[1], FLAGS.output)
  except errors.InputError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  output = FLAGS.output or argv[1]
  print(text)
  print(f'Wrote {os.path.join(output, "summary.md")} and plots in {os.path.join(output, "plots")}.')


if __name__ == '__main__':
  app.run(main)
