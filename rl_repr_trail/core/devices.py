"""Threads, tf.distribute strategies and which process writes outputs."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from rl_repr_trail.core import errors


def configure() -> None:
  """One thread per op, as many ops at once as there are cores, and memory growth on
  every GPU (configure_gpus).

  This project's matrices are small (batch 256, 256 units): splitting one op over two
  cores costs more than it gains, while independent ops (two networks, the weight and
  input gradients, per-variable updates) keep both cores busy. Measured with
  `python -m rl_repr_trail.benchmark` on 2 cores (docs/speed.md). TF_NUM_INTRAOP_THREADS
  and TF_NUM_INTEROP_THREADS, when set, take precedence. Call before TensorFlow runs any op.
  """
  if 'TF_NUM_INTRAOP_THREADS' not in os.environ:
    tf.config.threading.set_intra_op_parallelism_threads(1)
  configure_gpus()


def configure_gpus() -> list:
  """Memory growth on every visible GPU, so that several processes share one (TensorFlow
  otherwise takes all of a GPU's memory at start). Call before any op runs; returns the
  GPUs."""
  gpus = tf.config.list_physical_devices('GPU')
  for gpu in gpus:
    tf.config.experimental.set_memory_growth(gpu, True)
  return gpus


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
  raise ValueError(f'distribution {name!r}: unknown (run_config.validate checks it).')


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
