"""Compiled training loops: batches drawn inside the graph, many updates per call.

The data live in device tensors; a `Sampler` draws a batch with stateless random
ops keyed on (seed, draw counter, replica), so sampling is checkpointed with the
counter and each replica of a tf.distribute strategy draws its own rows.
`compile_steps` wraps a learner's `update(batch)` in one tf.function that runs any
number of steps, each replicated by the strategy, without returning to Python.

Learners write their updates for the global batch: `replica_sum` and
`replica_gather` below make a loss computed on one replica's rows equal to the
loss of the whole global batch, with one device or many.
"""

from __future__ import annotations

import json
import os
from typing import Callable

import numpy as np
import tensorflow as tf
import tf_keras

from rl_repr_trail import data
from rl_repr_trail import errors

Batch = dict[str, tf.Tensor]
DISTRIBUTIONS = ('none', 'mirrored', 'multi_worker')


def configure_threads() -> None:
  """One thread per op, and as many ops at once as there are cores.

  This project's matrices are small (batch 256, 256 units): splitting one op over two
  cores costs more than it gains, while independent ops (two networks, the weight and
  input gradients, per-variable updates) keep both cores busy. Measured with
  `python -m rl_repr_trail.benchmark` on 2 cores (docs/speed.md). TF_NUM_INTRAOP_THREADS
  and TF_NUM_INTEROP_THREADS, when set, take precedence. Call before TensorFlow runs any op.
  """
  if 'TF_NUM_INTRAOP_THREADS' not in os.environ:
    tf.config.threading.set_intra_op_parallelism_threads(1)


class Adam(tf_keras.optimizers.Adam):
  """Keras Adam (without amsgrad) whose update is TensorFlow's fused kernel (one pass over
  m, v and the variable instead of about ten element-wise ops): the same update, same
  slots and checkpoints, measurably faster for the downstream steps (docs/speed.md)."""

  def __init__(self, learning_rate, **kwargs):
    super().__init__(learning_rate, **kwargs)
    self._configured_rate = learning_rate

  def apply_configured_rate(self) -> None:
    """Sets a constant rate back to the one this optimizer was made with: a checkpoint
    restores the rate it was saved with, and a resumed run must use the one asked for."""
    if isinstance(self._configured_rate, (int, float)):
      self.learning_rate.assign(self._configured_rate)

  def update_step(self, gradient, variable):
    dtype = variable.dtype
    step = tf.cast(self.iterations + 1, dtype)
    beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
    index = self._index_dict[self._var_key(variable)]
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=self._momentums[index].handle,
        v=self._velocities[index].handle, beta1_power=tf.pow(beta_1, step),
        beta2_power=tf.pow(beta_2, step), lr=tf.cast(self.learning_rate, dtype),
        beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=gradient)


def make_strategy(name: str) -> tf.distribute.Strategy:
  """none: the default strategy; mirrored: all local devices; multi_worker: TF_CONFIG."""
  if name == 'none':
    return tf.distribute.get_strategy()
  if name == 'mirrored':
    return tf.distribute.MirroredStrategy()
  if name == 'multi_worker':
    if 'TF_CONFIG' not in os.environ:
      raise errors.InputError('--distribution=multi_worker needs TF_CONFIG (cluster and task).')
    return tf.distribute.MultiWorkerMirroredStrategy()
  raise errors.InputError(f'--distribution={name}: expected one of {DISTRIBUTIONS}.')


def _tf_config_task() -> tuple[str, int]:
  task = json.loads(os.environ.get('TF_CONFIG', '{}')).get('task', {})
  return task.get('type', 'worker'), int(task.get('index', 0))


def is_chief() -> bool:
  """Whether this process writes the run's outputs (always, unless a TF_CONFIG worker > 0)."""
  kind, index = _tf_config_task()
  return kind == 'chief' or (kind == 'worker' and index == 0)


def worker_name() -> str:
  kind, index = _tf_config_task()
  return f'{kind}-{index}'


def _context() -> tf.distribute.ReplicaContext:
  return tf.distribute.get_replica_context()


def num_replicas() -> int:
  return _context().num_replicas_in_sync


def replica_sum(x: tf.Tensor) -> tf.Tensor:
  """Sum of x over the replicas (x itself on one device)."""
  ctx = _context()
  return x if ctx.num_replicas_in_sync == 1 else ctx.all_reduce(tf.distribute.ReduceOp.SUM, x)


@tf.custom_gradient
def _dense_gradient(x: tf.Tensor):
  """Identity whose gradient is made dense: all_gather's gradient takes no IndexedSlices."""
  return tf.identity(x), tf.convert_to_tensor


def replica_gather(x: tf.Tensor) -> tf.Tensor:
  """The rows of x of every replica, in replica order (x itself on one device).

  Differentiable: the gradient of each replica's rows is summed over the replicas.
  """
  ctx = _context()
  return x if ctx.num_replicas_in_sync == 1 else _dense_gradient(ctx.all_gather(x, axis=0))


def replica_offset(local_rows: tf.Tensor) -> tf.Tensor:
  """Index of this replica's first row in the global batch."""
  replica_id = tf.cast(_context().replica_id_in_sync_group, tf.int32)
  return replica_id * local_rows


def global_mean(per_row: tf.Tensor) -> tf.Tensor:
  """Mean over the global batch of a per-row quantity of this replica's rows.

  Its gradient, summed over replicas by the optimizer, is the global mean's gradient.
  """
  return tf.reduce_sum(per_row) / tf.cast(tf.shape(per_row)[0] * num_replicas(), per_row.dtype)


def reported(value: tf.Tensor) -> tf.Tensor:
  """The global value of a global_mean for logging (identical on every replica)."""
  return replica_sum(tf.stop_gradient(value))


def replica_normal(local_rows: tf.Tensor, dim: int, key: tf.Tensor) -> tf.Tensor:
  """This replica's rows of standard normal noise drawn for the whole global batch, so
  that one device and many draw the same noise for the same global row."""
  full = tf.random.stateless_normal(tf.stack([local_rows * num_replicas(), dim]), key)
  return full[replica_offset(local_rows):replica_offset(local_rows) + local_rows]


def sync_counter(name: str) -> tf.Variable:
  """An int64 counter that every replica reads and updates identically."""
  return tf.Variable(0, dtype=tf.int64, trainable=False, name=name,
                     synchronization=tf.VariableSynchronization.ON_WRITE,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


def _as_tensor(array: np.ndarray) -> tf.Tensor:
  """A tensor of `array`, sharing its memory when TensorFlow allows (C-contiguous and
  64-byte aligned, as data.load makes the observation table), else a copy."""
  if array.flags.c_contiguous and array.ctypes.data % 64 == 0 and array.size:
    return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
  return tf.convert_to_tensor(array)


class Sampler(tf.Module):
  """Uniform batches of transitions (s, a, s') of a Dataset, or of windows.

  With `window` = t > 0 a batch holds windows of t consecutive transitions of one
  episode: observations [B, t, obs_dim] and actions [B, t, action_dim].
  `per_item` arrays (e.g. precomputed expert latents) are aligned with
  `dataset.transition_rows()` (or `dataset.window_starts(t)`) and returned under
  their key.
  """

  def __init__(self, dataset: data.Dataset, seed: int,
               per_item: dict[str, np.ndarray] | None = None, window: int = 0):
    super().__init__(name='sampler')
    rows = dataset.window_starts(window) if window else dataset.transition_rows()
    if len(rows) == 0:
      what = f'window of {window} consecutive transitions' if window else 'transition'
      raise data.DataError(f'{dataset.source}: the data holds no {what}.')
    self.num_items = len(rows)
    self.seed = seed
    self.window = window
    with tf.init_scope():
      self._observations = _as_tensor(dataset.observations)
      self._actions = _as_tensor(dataset.actions)
      self._next_row = tf.convert_to_tensor(dataset.next_row)
      self._rows = tf.convert_to_tensor(rows)
      self._extra = {k: tf.convert_to_tensor(v) for k, v in (per_item or {}).items()}
    self.draws = sync_counter('draws')

  def sample(self, batch_size: int) -> Batch:
    replica = tf.cast(_context().replica_id_in_sync_group, tf.int64)
    key = tf.stack([tf.constant(self.seed, tf.int64), self.draws * 1024 + replica])
    i = tf.random.stateless_uniform([batch_size], key, 0, self.num_items, dtype=tf.int32)
    self.draws.assign_add(1)
    rows = tf.gather(self._rows, i)
    if self.window:
      rows = rows[:, None] + tf.range(self.window)
      batch = {'observations': tf.gather(self._observations, rows),
               'actions': tf.gather(self._actions, rows)}
    else:
      batch = {'observations': tf.gather(self._observations, rows),
               'actions': tf.gather(self._actions, rows),
               'next_observations': tf.gather(self._observations,
                                              tf.gather(self._next_row, rows))}
    batch.update({k: tf.gather(v, i) for k, v in self._extra.items()})
    return batch


def compile_steps(update: Callable[[Batch], dict[str, tf.Tensor]], sampler: Sampler,
                  batch_size: int, strategy: tf.distribute.Strategy | None = None
                  ) -> Callable[[int], dict[str, tf.Tensor]]:
  """Returns f(n): n update steps on sampled global batches; the last step's metrics."""
  strategy = strategy or tf.distribute.get_strategy()
  replicas = strategy.num_replicas_in_sync
  if batch_size % replicas:
    raise errors.InputError(f'--batch_size={batch_size} must be a multiple of the '
                            f'{replicas} replicas.')
  local = batch_size // replicas

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
