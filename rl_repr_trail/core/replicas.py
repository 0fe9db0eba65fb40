"""Replica maths: losses written for the global batch, equal with one device
or many, and state every replica updates identically."""

from __future__ import annotations

import tensorflow as tf


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


def replica_id(dtype: tf.DType = tf.int32) -> tf.Tensor:
  """This replica's index in its group (0 on one device)."""
  return tf.cast(_context().replica_id_in_sync_group, dtype)


def replica_offset(local_rows: tf.Tensor) -> tf.Tensor:
  """Index of this replica's first row in the global batch."""
  return replica_id() * local_rows


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
