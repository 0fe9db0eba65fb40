"""The method registry: the one place that names the methods.

Each Method says how its run is built from a run's settings (a run_config.RunConfig): the
embedding learner it pretrains on the offline data (none for BC) and the downstream
learner that imitates the expert data. The runner, the binaries, the sweep, summarize,
claims and the default task read every method name, label and list from here.

Adding a method is a module with its learners, one `register(Method(...))` and a test
row; tests/test_methods.py does it for a toy method, end to end.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np
import tensorflow as tf

from rl_repr_trail.core import training
from rl_repr_trail.data import batches
from rl_repr_trail.data import datasets
from rl_repr_trail.envs import tasks
from rl_repr_trail.methods import behavioral_cloning
from rl_repr_trail.methods import latent_bc
from rl_repr_trail.methods import skills
from rl_repr_trail.methods import trail


if TYPE_CHECKING:
  from rl_repr_trail.experiment.run_config import RunConfig  # pylint: disable=g-bad-import-order


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
                          tuple[DownstreamLearner, batches.Sampler]]


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
  windowed: bool = False           # Learns from windows of --window steps.
  positive: tuple[str, ...] = ()   # RunConfig fields it needs positive, beyond the common.

  @property
  def pretrains(self) -> bool:
    return self.make_embedding is not None

  def window(self, config: 'RunConfig') -> int:
    """Steps per training item: --window for windowed methods, else 0 (transitions)."""
    return config.window if self.windowed else 0


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


def _rate(given: float | None, config_class: type) -> float:
  return given or config_class.learning_rate


def _trail_embedding(fourier: bool) -> MakeEmbedding:
  def make(config, task, low, high):
    return trail.TrailLearner(task.obs_dim, low, high, trail.TrailConfig(
        embed_dim=config.embed_dim, hidden=config.hidden,
        learning_rate=_rate(config.embed_learning_rate, trail.TrailConfig),
        fourier_dim=config.fourier_dim if fourier else 0, entropy_term=config.entropy_term),
        seed=config.seed)
  return make


def _skill_embedding(variant: str) -> MakeEmbedding:
  def make(config, task, low, high):
    return skills.SkillLearner(task.obs_dim, low, high, skills.SkillConfig(
        variant=variant, window=config.window, latent_dim=config.skill_dim,
        hidden=config.hidden, learning_rate=_rate(config.embed_learning_rate, skills.SkillConfig)),
        seed=config.seed)
  return make


def _latent_bc_config(config) -> latent_bc.LatentBCConfig:
  return latent_bc.LatentBCConfig(
      learning_rate=_rate(config.downstream_learning_rate, latent_bc.LatentBCConfig),
      hidden=config.hidden, finetune_decoder=config.finetune_decoder,
      entropy_term=config.entropy_term, latent_action=config.latent_action)


def build_latent_bc(config, task, low, high, embedding, expert):
  """Latent BC on the frozen embedding, its sampler holding each expert transition's
  latent targets."""
  del low, high  # The decoder it fine-tunes knows the action bounds.
  learner = latent_bc.LatentBC(embedding, task.obs_dim, task.action_dim,
                               _latent_bc_config(config), seed=config.seed)
  rows = expert.transition_rows()
  targets = learner.targets(expert.observations[rows], expert.actions[rows])
  return learner, batches.Sampler(expert, config.seed + 1, targets)


def _skill_latent_bc(config, task, low, high, embedding, expert):
  """Latent BC over skills, its sampler holding each expert window's posterior."""
  del low, high
  learner = skills.SkillLatentBC(embedding, task.obs_dim, task.action_dim,
                                 _latent_bc_config(config), seed=config.seed)
  rows = expert.window_starts(config.window)[:, None] + np.arange(config.window)
  targets = learner.targets(expert.observations[rows], expert.actions[rows])
  return learner, batches.Sampler(expert, config.seed + 1, targets, window=config.window)


def _bc(config, task, low, high, embedding, expert):
  del embedding
  learner = behavioral_cloning.BC(task.obs_dim, low, high, behavioral_cloning.BCConfig(
      learning_rate=_rate(config.downstream_learning_rate, behavioral_cloning.BCConfig),
      hidden=config.hidden, entropy_term=config.entropy_term), seed=config.seed)
  return learner, batches.Sampler(expert, config.seed + 1)


# The paper's column order: the BC baseline, temporal skills, then TRAIL.
register(Method('bc', 'BC', 'baseline', 'none', 'bc', _bc, behavioral_cloning.BCConfig))
for _variant, _label in (('opal', 'OPAL'), ('spirl', 'SPiRL'), ('skild', 'SkiLD')):
  register(Method(_variant, _label, 'skill', _variant, 'latent_bc', _skill_latent_bc,
                  latent_bc.LatentBCConfig, _skill_embedding(_variant), skills.SkillConfig,
                  windowed=True, positive=('window', 'skill_dim')))
register(Method('trail_ebm', 'TRAIL EBM', 'trail', 'trail_ebm', 'latent_bc', build_latent_bc,
                latent_bc.LatentBCConfig, _trail_embedding(False), trail.TrailConfig))
register(Method('trail_linear', 'TRAIL linear', 'trail', 'trail_linear', 'latent_bc',
                build_latent_bc, latent_bc.LatentBCConfig, _trail_embedding(True),
                trail.TrailConfig, positive=('fourier_dim',)))
