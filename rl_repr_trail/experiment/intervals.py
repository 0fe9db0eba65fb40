"""Interval estimates of normalized scores over seeds, from rliable (Agarwal et al., 2021).

Scores are matrices [runs, cells] (a cell: a task and offline data of one table). Each
interval is a 95% percentile bootstrap over runs, stratified by cell (rliable's default),
with REPS resamples from a fixed seed, so a report reads the same every time.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Callable

import numpy as np

REPS = 2000
CONFIDENCE = 0.95


@dataclasses.dataclass(frozen=True)
class Interval:
  """A point estimate with its confidence interval."""

  point: float
  low: float
  high: float

  def text(self, digits: int = 1) -> str:
    return f'{self.point:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]'


def _estimate(scores: np.ndarray | list[np.ndarray], func: Callable[..., float]) -> Interval:
  from rliable import library  # pylint: disable=g-import-not-at-top  # Loads pandas, arch.
  with warnings.catch_warnings():  # rliable hands arch a RandomState the old way.
    warnings.simplefilter('ignore', FutureWarning)
    point, interval = library.get_interval_estimates(
        {'x': scores}, lambda *s: np.array([func(*s)]), reps=REPS,
        confidence_interval_size=CONFIDENCE, random_state=np.random.RandomState(0))
  return Interval(float(point['x'][0]), float(interval['x'][0, 0]), float(interval['x'][1, 0]))


def _matrix(scores) -> np.ndarray:
  scores = np.asarray(scores, np.float64)
  return scores[:, None] if scores.ndim == 1 else scores


def mean(scores) -> Interval:
  """Mean over runs and cells; `scores` is [runs] (one cell) or [runs, cells]."""
  from rliable import metrics  # pylint: disable=g-import-not-at-top
  return _estimate(_matrix(scores), metrics.aggregate_mean)


def iqm(scores) -> Interval:
  """Interquartile mean of [runs, cells]: the mean of the middle 50% of all scores."""
  from rliable import metrics  # pylint: disable=g-import-not-at-top
  return _estimate(_matrix(scores), metrics.aggregate_iqm)


def improvement_probability(x, y) -> Interval:
  """P(X > Y): the chance that a run of X outscores a run of Y on a cell (ties count
  half), averaged over cells; x and y are [runs, cells] with the same cells."""
  from rliable import metrics  # pylint: disable=g-import-not-at-top
  return _estimate([_matrix(x), _matrix(y)], metrics.probability_of_improvement)


def ratio_of_means(x, y) -> Interval:
  """mean(X) / mean(Y) over [runs, cells] (nan when Y's resampled mean is <= 0)."""
  return _estimate([_matrix(x), _matrix(y)],
                   lambda a, b: a.mean() / b.mean() if b.mean() > 0 else np.nan)


def plot_aggregates(aggregates: dict[str, dict[str, Interval]], path: str, title: str) -> str:
  """One row per method, a panel per metric (rliable's interval plot); returns path."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  from rliable import plot_utils  # pylint: disable=g-import-not-at-top
  methods = list(aggregates)
  metric_names = list(next(iter(aggregates.values())))
  points = {m: np.array([aggregates[m][k].point for k in metric_names]) for m in methods}
  bounds = {m: np.array([[aggregates[m][k].low for k in metric_names],
                         [aggregates[m][k].high for k in metric_names]]) for m in methods}
  fig, _ = plot_utils.plot_interval_estimates(
      points, bounds, metric_names, algorithms=methods, xlabel='normalized score',
      row_height=0.5, xlabel_y_coordinate=-0.8 / len(methods))
  fig.suptitle(title, y=1.0 + 0.6 / (0.5 * len(methods)), fontsize="x-large")  # Above the panels' titles.
  fig.savefig(path, dpi=100, bbox_inches='tight')
  plt.close(fig)
  return path
