"""tf.distribute: one distributed step equals one single-device step on the same global batch.

Mirrored runs on two logical CPU devices; MultiWorker on two worker processes that
talk over 127.0.0.1. Each run is a subprocess (devices are fixed when TF starts).
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from rl_repr_trail.experiment import run_config
from rl_repr_trail.experiment import runner

SCRIPT = os.path.join(os.path.dirname(__file__), 'distributed_step.py')


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _run(mode, out, env=None):
  return subprocess.Popen([sys.executable, SCRIPT, mode, str(out)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc):
  _, err = proc.communicate(timeout=300)
  assert proc.returncode == 0, err[-3000:]


@pytest.fixture(scope='module')
def single(tmp_path_factory):
  out = tmp_path_factory.mktemp('single') / 'single.npz'
  _finish(_run('single', out))
  return dict(np.load(out))


def _assert_same(single, other):
  assert sorted(single) == sorted(other)
  for name in ('ebm', 'linear', 'bc', 'latent_bc'):
    assert single[f'{name}/changed'].max() > 1e-4, f'{name}: the step changed no weight'
  for key in single:
    np.testing.assert_allclose(other[key], single[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_mirrored_step_matches_single_device(single, tmp_path):
  out = tmp_path / 'mirrored.npz'
  _finish(_run('mirrored', out))
  _assert_same(single, dict(np.load(out)))


def test_multi_worker_step_matches_single_device(single, tmp_path):
  cluster = {'worker': [f'127.0.0.1:{_free_port()}' for _ in range(2)]}
  procs = []
  for index in range(2):
    tf_config = {'cluster': cluster, 'task': {'type': 'worker', 'index': index}}
    procs.append(_run('multi_worker', tmp_path / f'worker{index}.npz',
                      dict(os.environ, TF_CONFIG=json.dumps(tf_config))))
  for proc in procs:
    _finish(proc)
  for index in range(2):
    _assert_same(single, dict(np.load(tmp_path / f'worker{index}.npz')))


def test_train_eval_runs_under_mirrored_strategy(hopper_files, tmp_path):
  results = runner.run(run_config.from_settings(dict(
      offline_data=hopper_files['offline'], expert_data=hopper_files['expert'],
      expert_size=500, embed_dim=16, hidden=(32,), batch_size=32, pretrain_steps=100,
      downstream_steps=100, eval_interval=100, eval_episodes=1, log_interval=50,
      checkpoint_interval=50, distribution='mirrored', save_dir=str(tmp_path / 'run'))))
  assert results['downstream_steps'] == 100 and results['final']['step'] == 100
