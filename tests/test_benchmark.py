"""The speed benchmark: its FLOP count against a hand count, and a tiny end-to-end run."""

import os
import re
import subprocess
import sys

import numpy as np
import tensorflow as tf

from rl_repr_trail import benchmark
from rl_repr_trail.data import batches
from rl_repr_trail.data import datasets
from rl_repr_trail.methods.bc import config as bc_config
from rl_repr_trail.methods.bc import learner as bc_learner


def test_step_gflop_counts_the_bc_step_matrix_products():
  obs_dim, action_dim, batch, hidden = 111, 8, 256, 256
  rows = 2000
  timeouts = np.zeros(rows, bool)
  timeouts[999::1000] = True
  rng = np.random.default_rng(0)
  dataset = datasets.from_arrays(rng.standard_normal((rows, obs_dim)).astype(np.float32),
                                 rng.uniform(-1, 1, (rows, action_dim)).astype(np.float32),
                                 np.zeros(rows, bool), timeouts)
  bc = bc_learner.BC(obs_dim, -np.ones(action_dim), np.ones(action_dim),
                     bc_config.BCConfig())
  graph = benchmark.step_graph(bc.update, batches.Sampler(dataset, 0), batch)
  # Forward and weight gradients of the three layers, input gradients of the last two
  # (the first layer's input is data): 2 flops per multiply-add.
  layers = [(obs_dim, hidden), (hidden, hidden), (hidden, 2 * action_dim)]
  macs = sum(2 * i * o for i, o in layers) + sum(i * o for i, o in layers[1:])
  gflop = benchmark.step_gflop(graph)
  assert abs(gflop - 2 * macs * batch / 1e9) / gflop < 0.01
  # The products-only step runs the same products: 8, with the same multiply-adds.
  products = benchmark.matrix_products(graph)
  assert len(products) == 8
  product_macs = sum(np.prod(a) * (b[0] if tb else b[1]) for a, b, _, tb in products)
  assert product_macs == macs * batch
  assert benchmark.products_only_rate(products[:2], steps=5, repeats=1) > 0


def test_benchmark_prints_rates_arithmetic_ceiling_and_targets(tmp_path):
  env = dict(os.environ, TMPDIR=str(tmp_path))
  proc = subprocess.run(
      [sys.executable, '-m', 'rl_repr_trail.benchmark', '--transitions=3000', '--steps=3',
       '--repeats=1', '--batch_size=32', '--only=latent_bc,bc'],
      capture_output=True, text=True, timeout=300, env=env)
  assert proc.returncode == 0, proc.stderr[-2000:]
  machine = proc.stdout.splitlines()[0]
  assert machine.startswith('machine: ') and f'{os.cpu_count()} logical CPUs' in machine
  assert f'TensorFlow {tf.__version__}' in machine
  gpus = tf.config.list_physical_devices('GPU')
  assert machine.startswith('machine: device GPU' if gpus else 'machine: device CPU;'), machine
  table = [line.split('|')[1:-1] for line in proc.stdout.splitlines()
           if line.startswith('| latent_bc') or line.startswith('| bc')]
  assert [row[0].strip() for row in table] == ['latent_bc', 'bc']
  for name, rate, gflop, gflops, products, ceiling, target, needed in table:
    assert float(rate) > 0 and float(products) > 0 and float(ceiling) > 0
    assert abs(float(rate) * float(gflop) - float(gflops)) <= 0.5 + 0.01 * float(gflops)
    assert re.fullmatch(r'\d+ \((met|not met)\)', target.strip()), target
  assert 'peak' in proc.stdout and not os.listdir(tmp_path)
  assert 'deprecated' not in proc.stderr  # The FLOP count's v1 profiler stays quiet.


def test_benchmark_names_a_bad_flag():
  proc = subprocess.run([sys.executable, '-m', 'rl_repr_trail.benchmark', '--only=bc,ebm'],
                        capture_output=True, text=True, timeout=120)
  assert proc.returncode != 0
  assert '--only: expected names of trail_ebm, trail_linear, latent_bc, bc' in proc.stderr
