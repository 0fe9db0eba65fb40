"""Steps per second of each update step at the reference sizes (ant: 111 observation
dims, 8 actions, batch 256, 256-unit MLPs, d = 256), on synthetic data in memory.

  python -m rl_repr_trail.benchmark [--transitions=1000000] [--steps=200]

Each figure is the median of --repeats timed calls of --steps compiled steps,
after one warm-up call. The data go through the same path as train_eval (a D4RL-format
file read by datasets.load); memory is the process's resident size (VmRSS, VmHWM).

Beside steps/s it prints each step's arithmetic (TensorFlow's count of its graph's
floating-point operations), the rate that makes, the rate the issue's target would
need, how fast the step would run if it did nothing but its matrix products (taken
from its graph: same shapes and transposes), and this CPU's ceiling for such steps,
measured right after each step's timing (this machine's speed drifts): two
independent chains of 256 x 256 x 256 matrix products (one per core, the size of
these steps' products) on the same threads.
"""

import os
import platform
import tempfile
import time
from typing import Callable

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import h5py
import numpy as np
import tensorflow as tf

from rl_repr_trail.core import devices
from rl_repr_trail.core import training
from rl_repr_trail.data import batches
from rl_repr_trail.data import datasets
from rl_repr_trail.methods.bc import config as bc_config
from rl_repr_trail.methods.bc import learner as bc_learner
from rl_repr_trail.methods.latent_bc import config as latent_bc_config
from rl_repr_trail.methods.latent_bc import learner as latent_bc
from rl_repr_trail.methods.skills import config as skills_config
from rl_repr_trail.methods.skills import learner as skills
from rl_repr_trail.methods.trail import config as trail_config
from rl_repr_trail.methods.trail import learner as trail


FLAGS = flags.FLAGS
flags.DEFINE_integer('transitions', 1_000_000, 'Transitions of synthetic ant-sized data.',
                     lower_bound=2)
flags.DEFINE_integer('steps', 200, 'Update steps per timed call.', lower_bound=1)
flags.DEFINE_integer('repeats', 3, 'Timed calls; the median is reported.', lower_bound=1)
flags.DEFINE_integer('batch_size', 256, 'Batch size.', lower_bound=1)
STEPS = ('trail_ebm', 'trail_linear', 'latent_bc', 'bc', 'opal')
flags.DEFINE_list('only', [], f'Benchmark only these update steps, of {", ".join(STEPS)} '
                  '(default: all but opal, the slow skill pretraining step).')
flags.register_validator('only', lambda names: set(names) <= set(STEPS),
                         f'--only: expected names of {", ".join(STEPS)}.')

OBS_DIM, ACTION_DIM, EPISODE = 111, 8, 1000
# Steps/s asked for by the speed issue at the reference sizes.
TARGETS = {'trail_ebm': 100.0, 'latent_bc': 180.0, 'bc': 500.0}


def write_synthetic_file(path: str, transitions: int, seed: int = 0) -> float:
  """Writes ant-shaped D4RL-format data (1,000-step timed-out episodes) chunk by chunk,
  so that making it does not count in the memory of loading it. Returns its GiB."""
  rng = np.random.default_rng(seed)
  chunk = EPISODE * 50
  with h5py.File(path, 'w') as f:
    obs = f.create_dataset('observations', (transitions, OBS_DIM), np.float32)
    nxt = f.create_dataset('next_observations', (transitions, OBS_DIM), np.float32)
    act = f.create_dataset('actions', (transitions, ACTION_DIM), np.float32)
    f.create_dataset('rewards', data=np.zeros(transitions, np.float32))
    f.create_dataset('terminals', data=np.zeros(transitions, bool))
    timeouts = np.zeros(transitions, bool)
    timeouts[EPISODE - 1::EPISODE] = True
    f.create_dataset('timeouts', data=timeouts)
    for start in range(0, transitions, chunk):
      n = min(chunk, transitions - start)
      block = rng.standard_normal((n + 1, OBS_DIM), dtype=np.float32)
      obs[start:start + n] = block[:n]
      nxt[start:start + n] = block[1:]
      act[start:start + n] = rng.uniform(-1, 1, (n, ACTION_DIM))
    return sum(f[k].size * f[k].dtype.itemsize for k in f) / 2 ** 30


def memory_gb(field: str) -> float:
  """VmRSS (now) or VmHWM (peak) of this process, in GiB."""
  with open('/proc/self/status') as f:
    for line in f:
      if line.startswith(field + ':'):
        return int(line.split()[1]) / 2 ** 20
  return float('nan')


def step_graph(update: Callable[[training.Batch], dict[str, tf.Tensor]],
               sampler: batches.Sampler, batch_size: int) -> tf.Graph:
  """The graph of one update step on a sampled batch."""
  return tf.function(lambda: update(sampler.sample(batch_size))).get_concrete_function().graph


def step_gflop(graph: tf.Graph) -> float:
  """Floating-point operations of one update step, in GFLOP, as TensorFlow's profiler
  counts them on the step's graph (matrix products dominate)."""
  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options['output'] = 'none'
  logger = tf.get_logger()
  level = logger.level
  logger.setLevel('ERROR')  # The v1 profiler warns of its own deprecated helpers.
  try:
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops / 1e9
  finally:
    logger.setLevel(level)


Product = tuple[tuple[int, ...], tuple[int, ...], bool, bool]


def matrix_products(graph: tf.Graph) -> list[Product]:
  """Operand shapes and transposes of every matrix product (MatMul) of a step's graph."""
  return [(tuple(op.inputs[0].shape), tuple(op.inputs[1].shape), op.get_attr('transpose_a'),
           op.get_attr('transpose_b'))
          for op in graph.get_operations() if op.type == 'MatMul']


def products_only_rate(products: list[Product], steps: int, repeats: int) -> float:
  """Steps/s of a step that would do nothing but these matrix products (same shapes and
  transposes, all free to run side by side): how fast this machine can go on the
  step's arithmetic alone, before sampling, element-wise ops and the optimizer."""
  operands = [(tf.random.stateless_normal(a, [i, 0]), tf.random.stateless_normal(b, [i, 1]),
               ta, tb) for i, (a, b, ta, tb) in enumerate(products)]

  @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
  def run(num_steps):
    def body(i, done):
      with tf.control_dependencies([done]):  # One step after the other.
        outs = [tf.matmul(a, b, transpose_a=ta, transpose_b=tb) for a, b, ta, tb in operands]
      return i + 1, tf.add_n([o[0, 0] for o in outs])
    return {'loss': tf.while_loop(lambda i, _: i < num_steps, body, [0, 0.0],
                                  parallel_iterations=1)[1]}

  return steps_per_second(run, steps, repeats)


def matmul_ceiling(size: int = 256, chains: int = 2, products: int = 100) -> float:
  """GFLOP/s of `chains` independent chains of size^3 matrix products run at once (best
  of 3 calls): what the cores reach on these steps' largest products, nothing else."""
  matrices = [tf.random.stateless_normal([size, size], [i, 0]) for i in range(chains)]

  @tf.function
  def run():
    outs = [tf.zeros([size, size]) for _ in range(chains)]
    for _ in tf.range(products):
      outs = [o + tf.matmul(m, m) for o, m in zip(outs, matrices)]
    return tf.add_n([tf.reduce_sum(o) for o in outs])

  run()
  best = float('inf')
  for _ in range(3):
    start = time.perf_counter()
    run().numpy()
    best = min(best, time.perf_counter() - start)
  return chains * products * 2 * size ** 3 / best / 1e9


def steps_per_second(run: Callable[[int], dict[str, tf.Tensor]], steps: int, repeats: int) -> float:
  run(steps)  # Warm-up: tracing and the first optimizer steps.
  rates = []
  for _ in range(repeats):
    start = time.perf_counter()
    metrics = run(steps)
    float(metrics['loss'])  # Waits for the computation.
    rates.append(steps / (time.perf_counter() - start))
  return float(np.median(rates))


def device_description() -> str:
  """The GPUs TensorFlow places the steps on (it prefers a GPU when there is one), or CPU."""
  gpus = tf.config.list_physical_devices('GPU')
  names = [tf.config.experimental.get_device_details(gpu).get('device_name', gpu.name)
           for gpu in gpus]
  return ', '.join(f'GPU {name}' for name in names) if names else 'CPU'


def machine_description() -> str:
  """The device, CPU model, logical CPUs, widest vector extension and TF version: figures
  from different machines differ by far more than run-to-run noise, so each run says
  where."""
  model, flags_ = platform.processor() or 'unknown CPU', set()
  try:
    with open('/proc/cpuinfo') as f:
      info = dict((key.strip(), value.strip()) for key, value in
                  (line.split(':', 1) for line in f if ':' in line))
    model = info.get('model name', model)
    flags_ = set(info.get('flags', '').split())
  except OSError:
    pass
  vector = next((name for flag, name in (('avx512f', 'AVX-512'), ('avx2', 'AVX2'),
                                         ('avx', 'AVX')) if flag in flags_), 'unknown')
  return (f'device {device_description()}; {model}, {os.cpu_count()} logical CPUs, '
          f'vector extension {vector}, TensorFlow {tf.__version__}')


def main(argv: list[str]) -> None:
  del argv
  devices.configure()  # As train_eval does.
  print(f'machine: {machine_description()}', flush=True)
  low, high = -np.ones(ACTION_DIM), np.ones(ACTION_DIM)
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'ant-synthetic.hdf5')
    raw_gb = write_synthetic_file(path, FLAGS.transitions)
    before_gb = memory_gb('VmRSS')
    dataset = datasets.load(path)  # The same path as train_eval: streamed, then shared with TF.
    # The expert data: 10,000 transitions, as in the paper (fewer when the data is smaller).
    expert = dataset.first_transitions(min(10_000, len(dataset.transition_rows())))
    sampler = batches.Sampler(dataset, 0)
    window_sampler = batches.Sampler(dataset, 0, window=10) if 'opal' in FLAGS.only else None
    del dataset
  loaded_gb = memory_gb('VmRSS')
  rows = {}
  wanted = lambda name: name in FLAGS.only if FLAGS.only else name != 'opal'

  def bench(name, update, batch_sampler):
    graph = step_graph(update, batch_sampler, FLAGS.batch_size)
    gflop = step_gflop(graph)
    run = training.compile_steps(update, batch_sampler, FLAGS.batch_size)
    rate = steps_per_second(run, FLAGS.steps, FLAGS.repeats)
    products = products_only_rate(matrix_products(graph), FLAGS.steps, FLAGS.repeats)
    rows[name] = rate, gflop, products, matmul_ceiling()
    print(f'{name:13s} {rate:8.1f} steps/s {gflop:6.3f} GFLOP/step; its matrix products '
          f'alone {products:.1f} steps/s', flush=True)

  ebm = trail.TrailLearner(OBS_DIM, low, high, trail_config.TrailConfig())
  if wanted('trail_ebm'):
    bench('trail_ebm', ebm.update, sampler)
  if wanted('trail_linear'):
    linear = trail.TrailLearner(OBS_DIM, low, high,
                                trail_config.TrailConfig(linear=True, fourier_dim=256))
    bench('trail_linear', linear.update, sampler)
  if wanted('latent_bc'):
    imitator = latent_bc.LatentBC(ebm, OBS_DIM, ACTION_DIM, latent_bc_config.LatentBCConfig())
    r = expert.transition_rows()
    targets = imitator.targets(expert.observations[r], expert.actions[r])
    bench('latent_bc', imitator.update, batches.Sampler(expert, 1, targets))
  if wanted('bc'):
    bc = bc_learner.BC(OBS_DIM, low, high, bc_config.BCConfig())
    bench('bc', bc.update, batches.Sampler(expert, 2))
  if wanted('opal'):
    opal = skills.SkillLearner(OBS_DIM, low, high, skills_config.SkillConfig())
    bench('opal', opal.update, window_sampler)
  print()
  print(f'| update step | steps/s (median of {FLAGS.repeats} x {FLAGS.steps}) | GFLOP/step | '
        'GFLOP/s | products alone steps/s | ceiling GFLOP/s | target steps/s | '
        'GFLOP/s the target needs |')
  print('|---|---|---|---|---|---|---|---|')
  for name, (rate, gflop, products, ceiling) in rows.items():
    target = TARGETS.get(name)
    wanted_rate = (f'{target:.0f} ({"met" if rate >= target else "not met"}) | '
                   f'{target * gflop:.0f}') if target else ' | '
    print(f'| {name} | {rate:.1f} | {gflop:.3f} | {rate * gflop:.0f} | {products:.1f} | '
          f'{ceiling:.0f} | {wanted_rate} |')
  print('\nproducts alone: the step\'s matrix products (same shapes and transposes), free to '
        'run side by side, and nothing else.\nceiling: two independent chains of 256 x 256 x '
        '256 matrix products at once, nothing else, measured after each step\'s timing.')
  peak_gb = memory_gb('VmHWM')
  print(f'\nfile arrays {raw_gb:.2f} GiB ({FLAGS.transitions} ant transitions with '
        f'next_observations); process {before_gb:.2f} GiB before loading, {loaded_gb:.2f} GiB '
        f'after; peak {peak_gb:.2f} GiB = {peak_gb / raw_gb:.2f}x the file arrays; the data '
        f'added at most {(peak_gb - before_gb) / raw_gb:.2f}x')

if __name__ == '__main__':
  app.run(main)
