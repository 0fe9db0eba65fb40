"""Compiled training loops: batches drawn inside the graph, many updates per call.

`compile_steps` wraps a learner's `update(batch)` in one tf.function that runs any
number of steps, each replicated by the strategy, without returning to Python.
Learners write their updates for the global batch (core/replicas.py).
"""

from __future__ import annotations

from typing import Callable, Protocol

import tensorflow as tf

from rl_repr_trail.core import errors


Batch = dict[str, tf.Tensor]


class Sampler(Protocol):
  """Draws a batch inside the compiled loop (data.batches.Sampler is one)."""

  def sample(self, batch_size: int) -> Batch:
    ...


def compile_steps(update: Callable[[Batch], dict[str, tf.Tensor]], sampler: Sampler,
                  batch_size: int, strategy: tf.distribute.Strategy | None = None
                  ) -> Callable[[int], dict[str, tf.Tensor]]:
  """Returns f(n): n update steps on sampled global batches; the last step's metrics."""
  strategy = strategy or tf.distribute.get_strategy()
  num_replicas = strategy.num_replicas_in_sync
  if batch_size % num_replicas:
    raise errors.InputError(f'--batch_size={batch_size} must be a multiple of the '
                            f'{num_replicas} replicas.')
  local = batch_size // num_replicas

  def step():
    metrics = strategy.run(lambda: update(sampler.sample(local)))
    # Metrics are global values, the same on every replica: keep the first.
    return {k: strategy.experimental_local_results(v)[0] for k, v in metrics.items()}

  @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
  def run(num_steps):
    metrics = step()
    for _ in tf.range(num_steps - 1):
      metrics = step()
    return metrics

  return run
