"""The method registry: the one place that names the methods.

Each Method says how its run is built from a run's settings (a run_config.RunConfig, which
holds the method's own config dataclasses): the embedding learner it pretrains on the
offline data (none for BC) and the downstream learner that imitates the expert data. The runner, the binaries, the sweep, summarize,
claims and the default task read every method name, label and list from here.

Adding a method is a module with its learners, one `register(Method(...))` and a test
row; tests/test_methods.py does it for a toy method, end to end.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

from rl_repr_trail.data import datasets
from rl_repr_trail.envs import tasks
from rl_repr_trail.methods import method_configs

if TYPE_CHECKING:  # pylint: disable=g-bad-import-order
  import tensorflow as tf
  from rl_repr_trail.core import training
  from rl_repr_trail.data import batches
  from rl_repr_trail.experiment.run_config import RunConfig


class Learner(Protocol):
  """What the runner needs of a learner of either phase."""

  def update(self, batch: training.Batch) -> dict[str, tf.Tensor]:
    """One gradient step on a batch; returns scalar metrics, 'loss' among them."""


class DownstreamLearner(Learner, Protocol):
  """An imitation learner; `actor(obs_dim)` is its evaluation policy (evaluation.Policy:
  batches of observations to actions, with an optional `reset(seeds)`)."""

  def actor(self, obs_dim: int) -> Callable[[np.ndarray], np.ndarray]:
    ...


# make_embedding(config, task, low, high) -> a pretraining Learner that its downstream
# learner reads (latent_bc.LatentEmbedding for latent BC; skills.SkillLearner).
MakeEmbedding = Callable[['RunConfig', tasks.Task, np.ndarray, np.ndarray], Learner]
# make_downstream(config, task, low, high, embedding or None, expert data)
#   -> (a DownstreamLearner, its batches.Sampler of the expert data).
MakeDownstream = Callable[['RunConfig', tasks.Task, np.ndarray, np.ndarray, Any, datasets.Dataset],
                          tuple[DownstreamLearner, 'batches.Sampler']]


@dataclasses.dataclass(frozen=True)
class Method:
  """One method of the paper's tables."""

  name: str                        # --method, sweep configs and run directories.
  label: str                       # Tables, results.json and logs.
  family: str                      # 'baseline', 'skill' or 'trail': claims' groups.
  embed_learner: str               # Its --embed_learner ('none': no pretraining).
  downstream: str                  # Its --downstream.
  make_downstream: MakeDownstream
  downstream_config: type          # Its downstream config dataclass (defaults, rate).
  make_embedding: MakeEmbedding | None = None
  embedding_config: type | None = None
  # Fields of its embedding config that the method fixes (no flag changes them).
  embedding_preset: dict[str, Any] = dataclasses.field(default_factory=dict)
  windowed: bool = False           # Learns from windows of --window steps.
  positive: tuple[str, ...] = ()   # Flags it needs positive, beyond the common ones.

  @property
  def pretrains(self) -> bool:
    return self.make_embedding is not None

  def window(self, config: 'RunConfig') -> int:
    """Steps per training item: --window for windowed methods, else 0 (transitions)."""
    return config.embedding.window if self.windowed else 0


METHODS: dict[str, Method] = {}
BASELINE = 'bc'  # The method the others are measured against.


def register(method: Method) -> Method:
  if method.name in METHODS or method.label in labels():
    raise ValueError(f'A method named {method.name!r} or labelled {method.label!r} exists.')
  if from_flags(method.embed_learner, method.downstream) is not None:
    raise ValueError(f'--embed_learner={method.embed_learner} --downstream={method.downstream} '
                     'is another method already.')
  METHODS[method.name] = method
  return method


def get(name: str) -> Method:
  """The method called `name` (KeyError with the names when there is none)."""
  if name not in METHODS:
    raise KeyError(f'{name!r} is not a method; expected one of {names()}.')
  return METHODS[name]


def names() -> tuple[str, ...]:
  return tuple(METHODS)


def labels(family: str | None = None) -> tuple[str, ...]:
  """Labels in the paper's column order (the registry's), of one family or all."""
  return tuple(m.label for m in METHODS.values() if family in (None, m.family))


def embed_learners() -> tuple[str, ...]:
  return tuple(dict.fromkeys(m.embed_learner for m in METHODS.values()))


def downstreams() -> tuple[str, ...]:
  return tuple(dict.fromkeys(m.downstream for m in METHODS.values()))


def from_flags(embed_learner: str, downstream_name: str) -> Method | None:
  """The method of an --embed_learner / --downstream pair, or None."""
  return next((m for m in METHODS.values()
               if (m.embed_learner, m.downstream) == (embed_learner, downstream_name)), None)


def baseline_label() -> str:
  return get(BASELINE).label


def _built_by(name: str) -> Callable:
  """builders.`name`, methods/builders.py imported on the first call: the learners import
  TensorFlow, which what only reads the registry (summarize, claims, the sweep) does
  without."""

  def build(*args):
    from rl_repr_trail.methods import builders  # pylint: disable=g-import-not-at-top
    return getattr(builders, name)(*args)

  return build


# The paper's column order: the BC baseline, temporal skills, then TRAIL.
register(Method('bc', 'BC', 'baseline', 'none', 'bc', _built_by('build_bc'),
                method_configs.BCConfig))
for _variant, _label in (('opal', 'OPAL'), ('spirl', 'SPiRL'), ('skild', 'SkiLD')):
  register(Method(_variant, _label, 'skill', _variant, 'latent_bc',
                  _built_by('build_skill_latent_bc'), method_configs.LatentBCConfig,
                  _built_by('build_skills'), method_configs.SkillConfig, {'variant': _variant},
                  windowed=True, positive=('window', 'skill_dim')))
register(Method('trail_ebm', 'TRAIL EBM', 'trail', 'trail_ebm', 'latent_bc',
                _built_by('build_latent_bc'), method_configs.LatentBCConfig,
                _built_by('build_trail'), method_configs.TrailConfig, {'linear': False}))
register(Method('trail_linear', 'TRAIL linear', 'trail', 'trail_linear', 'latent_bc',
                _built_by('build_latent_bc'), method_configs.LatentBCConfig,
                _built_by('build_trail'), method_configs.TrailConfig, {'linear': True},
                positive=('fourier_dim',)))
