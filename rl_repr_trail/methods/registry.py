"""The method registry: the one place that names the methods.

Each method is a package under methods/ (config.py, learner.py, builder.py) whose
`__init__.py` registers it in one line; methods/__init__.py imports every such package.
A method outside this package is named by the import path of its Method, e.g.
`--method=my_package.METHOD`: `get` imports it and registers it under that path.

A method's builder module (imported when a run first builds a learner, so that what only
reads the registry starts without TensorFlow) has
  make_embedding(spec, config, seed) -> its pretraining learner (methods that pretrain)
  make_downstream(spec, config, embedding, seed) -> its downstream learner
where spec is a core.specs.EnvSpec and config the method's own config dataclass.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

if TYPE_CHECKING:  # pylint: disable=g-bad-import-order
  import tensorflow as tf
  from rl_repr_trail.core import specs
  from rl_repr_trail.core import training
  from rl_repr_trail.data import datasets


class Learner(Protocol):
  """What the runner needs of a learner of either phase."""

  def update(self, batch: training.Batch) -> dict[str, tf.Tensor]:
    """One gradient step on a batch; returns scalar metrics, 'loss' among them."""

  def checkpointed(self) -> dict[str, Any]:
    """What its checkpoints hold, by name."""

  def optimizers(self) -> list:
    """Its optimizers, whose configured rates a resume sets again."""


class DownstreamLearner(Learner, Protocol):
  """An imitation learner; `actor(obs_dim)` is its evaluation policy (evaluation.Policy:
  batches of observations to actions, with an optional `reset(seeds)`)."""

  def actor(self, obs_dim: int) -> Callable[[np.ndarray], np.ndarray]:
    ...

  def expert_targets(self, expert: datasets.Dataset) -> dict[str, np.ndarray] | None:
    """Arrays the expert sampler adds to each item's batch (e.g. latent targets)."""


# The families, in the paper's column order: claims' groups.
FAMILIES = ('baseline', 'skill', 'trail')


@dataclasses.dataclass(frozen=True)
class Method:
  """One method of the paper's tables (or of a user's)."""

  name: str                        # --method, sweep configs and run directories.
  label: str                       # Tables, results.json and logs.
  family: str                      # One of FAMILIES, or another word (after them).
  embed_learner: str               # Its --embed_learner ('none': no pretraining).
  downstream: str                  # Its --downstream.
  builder: str                     # Import path of its builder module.
  downstream_config: type          # Its downstream config dataclass (defaults, rate).
  embedding_config: type | None = None  # None: no pretraining.
  # Fields of its configs that the method fixes (no flag changes them).
  embedding_preset: dict[str, Any] = dataclasses.field(default_factory=dict)
  downstream_preset: dict[str, Any] = dataclasses.field(default_factory=dict)
  windowed: bool = False           # Learns from windows of its config's `window` steps.
  positive: tuple[str, ...] = ()   # Flags it needs positive, beyond the common ones.

  @property
  def pretrains(self) -> bool:
    return self.embedding_config is not None

  def window(self, embedding_config) -> int:
    """Steps per training item: the config's window for windowed methods, else 0."""
    return embedding_config.window if self.windowed else 0

  def make_embedding(self, spec: specs.EnvSpec, config, seed: int) -> Learner:
    return importlib.import_module(self.builder).make_embedding(spec, config, seed)

  def make_downstream(self, spec: specs.EnvSpec, config, embedding, seed: int
                      ) -> DownstreamLearner:
    return importlib.import_module(self.builder).make_downstream(spec, config, embedding, seed)


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


def is_import_path(name: str) -> bool:
  return '.' in name


def get(name: str) -> Method:
  """The method called `name`, importing it first when `name` is an import path
  (MODULE.ATTR); a KeyError saying why when there is none (its callers name the flag or
  file)."""
  if name not in METHODS and is_import_path(name):
    module_name, attribute = name.rsplit('.', 1)
    try:
      module = importlib.import_module(module_name)
    except ImportError as e:
      raise KeyError(f'cannot import {module_name} ({e}); a method named by import path '
                     'must be importable (installed or on PYTHONPATH).') from None
    method = getattr(module, attribute, None)
    if not isinstance(method, Method):
      raise KeyError(f'{module_name} has no Method named {attribute}.')
    register(dataclasses.replace(method, name=name))
  if name not in METHODS:
    raise KeyError(f'not a method: expected one of {names()} or the import path of a Method '
                   '(package.module.ATTR).')
  return METHODS[name]


def find(name: str | None) -> Method | None:
  """get(name), or None when there is no such method."""
  try:
    return get(name) if name else None
  except KeyError:
    return None


def _ordered() -> list[Method]:
  """The methods by family (FAMILIES' order, then the others), in registration order."""
  rank = lambda m: FAMILIES.index(m.family) if m.family in FAMILIES else len(FAMILIES)
  return sorted(METHODS.values(), key=rank)


def names() -> tuple[str, ...]:
  return tuple(m.name for m in _ordered())


def labels(family: str | None = None) -> tuple[str, ...]:
  """Labels in the paper's column order, of one family or all."""
  return tuple(m.label for m in _ordered() if family in (None, m.family))


def embed_learners() -> tuple[str, ...]:
  return tuple(dict.fromkeys(m.embed_learner for m in _ordered()))


def downstreams() -> tuple[str, ...]:
  return tuple(dict.fromkeys(m.downstream for m in _ordered()))


def from_flags(embed_learner: str, downstream_name: str) -> Method | None:
  """The method of an --embed_learner / --downstream pair, or None."""
  return next((m for m in METHODS.values()
               if (m.embed_learner, m.downstream) == (embed_learner, downstream_name)), None)


def baseline_label() -> str:
  return get(BASELINE).label
