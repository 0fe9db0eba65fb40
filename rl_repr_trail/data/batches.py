"""Batches of a Dataset drawn inside the compiled training loop.

The data live in device tensors; a `Sampler` draws a batch with stateless random ops
keyed on (seed, draw counter, replica), so sampling is checkpointed with the counter and
each replica of a tf.distribute strategy draws its own rows.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from rl_repr_trail.core import replicas
from rl_repr_trail.core import training
from rl_repr_trail.data import datasets


def _as_tensor(array: np.ndarray) -> tf.Tensor:
  """A tensor of `array`, sharing its memory when TensorFlow allows (C-contiguous and
  64-byte aligned, as datasets.load makes the observation table), else a copy."""
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

  def __init__(self, dataset: datasets.Dataset, seed: int,
               per_item: dict[str, np.ndarray] | None = None, window: int = 0):
    super().__init__(name='sampler')
    rows = dataset.window_starts(window) if window else dataset.transition_rows()
    if len(rows) == 0:
      what = f'window of {window} consecutive transitions' if window else 'transition'
      raise datasets.DataError(f'{dataset.source}: the data holds no {what}.')
    self.num_items = len(rows)
    self.seed = seed
    self.window = window
    with tf.init_scope():
      self._observations = _as_tensor(dataset.observations)
      self._actions = _as_tensor(dataset.actions)
      self._next_row = tf.convert_to_tensor(dataset.next_row)
      self._rows = tf.convert_to_tensor(rows)
      self._extra = {k: tf.convert_to_tensor(v) for k, v in (per_item or {}).items()}
    self.draws = replicas.sync_counter('draws')

  def sample(self, batch_size: int) -> training.Batch:
    replica = replicas.replica_id(tf.int64)
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
