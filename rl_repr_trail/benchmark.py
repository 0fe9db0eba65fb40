"""Steps per second of each update step at the reference sizes (ant: 111 observation
dims, 8 actions, batch 256, 256-unit MLPs, d = 256), on synthetic data in memory.

  python -m rl_repr_trail.benchmark [--transitions=1000000] [--steps=200]

Each figure is the median of --repeats timed calls of --steps compiled steps,
after one warm-up call. Peak memory is the process's maximum resident size.
"""

import os
import resource
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import numpy as np

from rl_repr_trail import data
from rl_repr_trail import downstream
from rl_repr_trail import trail
from rl_repr_trail import training

FLAGS = flags.FLAGS
flags.DEFINE_integer('transitions', 1_000_000, 'Transitions of synthetic ant-sized data.')
flags.DEFINE_integer('steps', 200, 'Update steps per timed call.')
flags.DEFINE_integer('repeats', 3, 'Timed calls; the median is reported.')
flags.DEFINE_integer('batch_size', 256, 'Batch size.')
flags.DEFINE_list('only', [], 'Benchmark only these learners (trail_ebm, trail_linear, '
                  'latent_bc, bc).')

OBS_DIM, ACTION_DIM, EPISODE = 111, 8, 1000


def synthetic_dataset(transitions: int, seed: int = 0) -> data.Dataset:
  """Ant-shaped rows in 1,000-step timed-out episodes."""
  rng = np.random.default_rng(seed)
  observations = rng.standard_normal((transitions, OBS_DIM), dtype=np.float32)
  actions = rng.uniform(-1, 1, (transitions, ACTION_DIM)).astype(np.float32)
  timeouts = np.zeros(transitions, bool)
  timeouts[EPISODE - 1::EPISODE] = True
  return data.from_arrays(observations, actions, np.zeros(transitions, bool), timeouts,
                          source='synthetic')


def steps_per_second(run, steps: int, repeats: int) -> float:
  run(steps)  # Warm-up: tracing and the first optimizer steps.
  rates = []
  for _ in range(repeats):
    start = time.perf_counter()
    metrics = run(steps)
    float(metrics['loss'])  # Waits for the computation.
    rates.append(steps / (time.perf_counter() - start))
  return float(np.median(rates))


def peak_memory_gb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def main(argv):
  del argv
  low, high = -np.ones(ACTION_DIM), np.ones(ACTION_DIM)
  dataset = synthetic_dataset(FLAGS.transitions)
  raw_gb = (dataset.observations.nbytes + dataset.actions.nbytes) / 2 ** 30
  expert = dataset.first_transitions(10_000)
  sampler = training.Sampler(dataset, 0)
  del dataset  # As in train_eval: the sampler's tensors are the only copy.
  rows = {}
  wanted = lambda name: not FLAGS.only or name in FLAGS.only

  def bench(name, update, batch_sampler):
    run = training.compile_steps(update, batch_sampler, FLAGS.batch_size)
    rows[name] = steps_per_second(run, FLAGS.steps, FLAGS.repeats)
    print(f'{name:13s} {rows[name]:8.1f} steps/s', flush=True)

  ebm = trail.TrailLearner(OBS_DIM, low, high, trail.TrailConfig())
  if wanted('trail_ebm'):
    bench('trail_ebm', ebm.update, sampler)
  if wanted('trail_linear'):
    linear = trail.TrailLearner(OBS_DIM, low, high, trail.TrailConfig(fourier_dim=256))
    bench('trail_linear', linear.update, sampler)
  if wanted('latent_bc'):
    latent_bc = downstream.LatentBC(ebm, OBS_DIM, ACTION_DIM, downstream.LatentBCConfig())
    r = expert.transition_rows()
    latents = latent_bc.latents(expert.observations[r], expert.actions[r])
    bench('latent_bc', latent_bc.update, training.Sampler(expert, 1, {'latents': latents}))
  if wanted('bc'):
    bc = downstream.BC(OBS_DIM, low, high, downstream.BCConfig(), 200_000)
    bench('bc', bc.update, training.Sampler(expert, 2))
  print()
  print(f'| update step | steps/s (median of {FLAGS.repeats} x {FLAGS.steps}) |')
  print('|---|---|')
  for name, rate in rows.items():
    print(f'| {name} | {rate:.1f} |')
  print(f'\npeak memory {peak_memory_gb():.2f} GB; raw arrays ({FLAGS.transitions} transitions) '
        f'{raw_gb:.2f} GB; ratio {peak_memory_gb() / raw_gb:.2f}')


if __name__ == '__main__':
  app.run(main)
