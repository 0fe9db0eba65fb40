"""One command and seed, run twice in separate processes, computes the same numbers."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _train_eval(files, save_dir, method, *extra):
  args = [sys.executable, '-m', 'rl_repr_trail.train_eval', f'--method={method}',
          f'--offline_data={files["offline"]}', f'--expert_data={files["expert"]}',
          '--expert_size=500', '--embed_dim=16', '--hidden=32,32', '--batch_size=32',
          '--pretrain_steps=150', '--downstream_steps=200', '--eval_interval=100',
          '--eval_episodes=2', '--log_interval=50', '--checkpoint_interval=100',
          f'--save_dir={save_dir}', *extra]
  result = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=_REPO,
                          check=False)
  assert result.returncode == 0, result.stderr[-2000:]


def _variables(save_dir, phase):
  reader = tf.train.load_checkpoint(os.path.join(save_dir, phase))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if not name.startswith('_CHECKPOINTABLE_OBJECT_GRAPH')}


def _assert_same_run(first, second, phases):
  assert (first / 'evals.jsonl').read_bytes() == (second / 'evals.jsonl').read_bytes()
  for phase in phases:
    a, b = _variables(first, phase), _variables(second, phase)
    assert sorted(a) == sorted(b)
    for name in a:
      np.testing.assert_array_equal(a[name], b[name], err_msg=f'{phase}: {name}')


@pytest.mark.parametrize('method,phases', [('trail_ebm', ('pretrain', 'downstream')),
                                           ('bc', ('downstream',))])
def test_two_runs_of_one_command_and_seed_are_identical(hopper_files, tmp_path, method, phases):
  _train_eval(hopper_files, tmp_path / 'a', method)
  _train_eval(hopper_files, tmp_path / 'b', method)
  _assert_same_run(tmp_path / 'a', tmp_path / 'b', phases)
  # The seed matters: another seed gives other weights.
  _train_eval(hopper_files, tmp_path / 'c', method, '--seed=1')
  a, c = _variables(tmp_path / 'a', 'downstream'), _variables(tmp_path / 'c', 'downstream')
  assert any(not np.array_equal(a[n], c[n]) for n in a if a[n].dtype.kind == 'f')
