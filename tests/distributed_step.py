"""One update step of each learner on a fixed global batch, under a chosen strategy.

  python tests/distributed_step.py {single,mirrored,multi_worker} OUT.npz

Writes every learner's metrics and variables after the step, so that a test can
hold the distributed step against the single-device one. `mirrored` splits this
CPU into two logical devices; `multi_worker` reads TF_CONFIG (one replica a worker).
"""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf

from rl_repr_trail.methods.bc import config as bc_config
from rl_repr_trail.methods.bc import learner as bc_learner
from rl_repr_trail.methods.latent_bc import config as latent_bc_config
from rl_repr_trail.methods.latent_bc import learner as latent_bc
from rl_repr_trail.methods.trail import config as trail_config
from rl_repr_trail.methods.trail import learner as trail


OBS, ACT, GLOBAL_BATCH = 5, 2, 8


def global_batch() -> dict[str, np.ndarray]:
  rng = np.random.default_rng(0)
  return {'observations': rng.normal(size=(GLOBAL_BATCH, OBS)).astype(np.float32),
          'actions': rng.uniform(-0.9, 0.9, (GLOBAL_BATCH, ACT)).astype(np.float32),
          'next_observations': rng.normal(size=(GLOBAL_BATCH, OBS)).astype(np.float32),
          'latents': rng.normal(size=(GLOBAL_BATCH, 4)).astype(np.float32)}


def fill(variables: list[tf.Variable], seed: int) -> None:
  """Sets weights from numpy so that every process starts from the same values."""
  rng = np.random.default_rng(seed)
  for v in variables:
    v.assign(rng.normal(0, 0.3, v.shape).astype(np.float32))


def make_strategy(mode: str) -> tf.distribute.Strategy:
  if mode == 'mirrored':
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
  if mode == 'multi_worker':
    return tf.distribute.MultiWorkerMirroredStrategy()
  return tf.distribute.get_strategy()


def main(mode: str, out: str) -> None:
  strategy = make_strategy(mode)
  batch = global_batch()
  low, high = -np.ones(ACT), np.ones(ACT)
  with strategy.scope():
    learners = {
        'ebm': trail.TrailLearner(OBS, low, high,
                                  trail_config.TrailConfig(embed_dim=4, hidden=(8,)), seed=1),
        'linear': trail.TrailLearner(OBS, low, high, trail_config.TrailConfig(
            embed_dim=4, linear=True, fourier_dim=6, hidden=(8,), moment_rate=0.5), seed=2),
        'bc': bc_learner.BC(OBS, low, high, bc_config.BCConfig(hidden=(8,)), seed=3),
    }
    learners['latent_bc'] = latent_bc.LatentBC(
        learners['ebm'], OBS, ACT,
        latent_bc_config.LatentBCConfig(hidden=(8,), learning_rate=1e-2),
        seed=4)
  for i, learner in enumerate(learners.values()):
    fill([v for v in learner.trainable_variables if 'log_alpha' not in v.name], seed=10 + i)
  before = {name: [v.numpy() for v in learner.trainable_variables]
            for name, learner in learners.items()}

  def local_rows(ctx):
    n = GLOBAL_BATCH // ctx.num_replicas_in_sync
    start = ctx.replica_id_in_sync_group * n
    return {k: tf.constant(v[start:start + n]) for k, v in batch.items()}

  values = strategy.experimental_distribute_values_from_function(local_rows)
  results = {}
  for name in ('ebm', 'linear', 'bc', 'latent_bc'):
    learner = learners[name]
    step = tf.function(lambda b, learner=learner: strategy.run(learner.update, args=(b,)))
    metrics = step(values)
    for key, value in metrics.items():
      results[f'{name}/metric/{key}'] = strategy.experimental_local_results(value)[0].numpy()
    for i, v in enumerate(learner.variables):
      results[f'{name}/var/{i}/{v.name}'] = v.numpy()
    results[f'{name}/changed'] = np.array([
        float(np.max(np.abs(b - v.numpy()))) for b, v in zip(before[name],
                                                             learner.trainable_variables)])
  np.savez(out, **results)


if __name__ == '__main__':
  main(sys.argv[1], sys.argv[2])
