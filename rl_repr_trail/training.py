"""Compiled training loops: batches drawn inside the graph, many updates per call.

The data live in device tensors; a `Sampler` draws a batch with a checkpointed
random generator, and `compile_steps` wraps a learner's `update(batch)` in one
tf.function that runs any number of steps without returning to Python.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from rl_repr_trail import data

Batch = dict[str, tf.Tensor]


class Sampler(tf.Module):
  """Uniform batches of transitions (s, a, s') of a Dataset.

  `per_transition` arrays (e.g. precomputed expert latents) are aligned with
  `dataset.transition_rows()` and returned under their key.
  """

  def __init__(self, dataset: data.Dataset, seed: int,
               per_transition: dict[str, np.ndarray] | None = None):
    super().__init__(name='sampler')
    rows = dataset.transition_rows()
    if len(rows) == 0:
      raise data.DataError(f'{dataset.source}: the data holds no transition.')
    self.num_transitions = len(rows)
    self._observations = tf.convert_to_tensor(dataset.observations)
    self._actions = tf.convert_to_tensor(dataset.actions)
    self._next_row = tf.convert_to_tensor(dataset.next_row)
    self._rows = tf.convert_to_tensor(rows)
    self._extra = {k: tf.convert_to_tensor(v) for k, v in (per_transition or {}).items()}
    self.generator = tf.random.Generator.from_seed(seed)

  def sample(self, batch_size: int) -> Batch:
    i = self.generator.uniform([batch_size], 0, self.num_transitions, dtype=tf.int32)
    rows = tf.gather(self._rows, i)
    batch = {'observations': tf.gather(self._observations, rows),
             'actions': tf.gather(self._actions, rows),
             'next_observations': tf.gather(self._observations, tf.gather(self._next_row, rows))}
    batch.update({k: tf.gather(v, i) for k, v in self._extra.items()})
    return batch


def compile_steps(update: Callable[[Batch], dict[str, tf.Tensor]], sampler: Sampler,
                  batch_size: int) -> Callable[[int], dict[str, tf.Tensor]]:
  """Returns f(n): n update steps on sampled batches; the metrics of the last step."""

  @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
  def run(num_steps):
    metrics = update(sampler.sample(batch_size))
    for _ in tf.range(num_steps - 1):
      metrics = update(sampler.sample(batch_size))
    return metrics

  return run
