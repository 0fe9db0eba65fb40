"""One command and seed, run twice in separate processes, computes the same numbers; a
run stopped by a signal or killed at any moment, then resumed, ends as if never stopped."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from rl_repr_trail.core import streams

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _args(files, save_dir, method, *extra):
  return [sys.executable, '-m', 'rl_repr_trail.train_eval', f'--method={method}',
          f'--offline_data={files["offline"]}', f'--expert_data={files["expert"]}',
          '--expert_size=500', '--embed_dim=16', '--hidden=32,32', '--batch_size=32',
          '--pretrain_steps=150', '--downstream_steps=200', '--eval_interval=100',
          '--eval_episodes=2', '--log_interval=50', '--checkpoint_interval=100',
          f'--save_dir={save_dir}', *extra]


def _train_eval(files, save_dir, method, *extra):
  result = subprocess.run(_args(files, save_dir, method, *extra), capture_output=True,
                          text=True, timeout=600, cwd=_REPO, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  return result.stdout


def _variables(save_dir, phase):
  reader = tf.train.load_checkpoint(os.path.join(save_dir, phase))
  # save_counter counts the saves, which a stop adds: not part of what the run computed.
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if not name.startswith(('_CHECKPOINTABLE_OBJECT_GRAPH', 'save_counter'))}


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


# Long enough that a signal sent at the first evaluation finds the run still training.
_LONG = ('--downstream_steps=2000', '--eval_interval=100', '--log_interval=50')


@pytest.fixture(scope='module')
def uninterrupted(hopper_files, tmp_path_factory):
  save_dir = tmp_path_factory.mktemp('uninterrupted') / 'run'
  _train_eval(hopper_files, save_dir, 'trail_ebm', *_LONG, '--checkpoint_interval=300')
  return save_dir


def _start_until(files, save_dir, line_start, *extra):
  """Starts a run and returns it once it has printed a line starting with `line_start`
  (read as it comes: no waiting on the clock)."""
  proc = subprocess.Popen(_args(files, save_dir, 'trail_ebm', *_LONG, *extra), cwd=_REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  for line in proc.stdout:
    if line.startswith(line_start):
      return proc
  proc.wait()
  raise AssertionError(f'the run ended (exit {proc.returncode}) before printing {line_start!r}: '
                       f'{proc.stderr.read()[-2000:]}')


def test_a_run_stopped_by_a_signal_between_checkpoints_resumes_to_the_same_numbers(
    hopper_files, tmp_path, uninterrupted):
  save_dir = tmp_path / 'run'
  # No checkpoint is due before the end: the signal's save is the only one.
  proc = _start_until(hopper_files, save_dir, '[eval] step 100:', '--checkpoint_interval=300')
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=300)
  assert proc.returncode == 75, err[-2000:]
  stopped = [line for line in err.splitlines() if 'stopped by SIGTERM' in line]
  assert len(stopped) == 1 and stopped[0].endswith('rerun the same command to resume from it.')
  step = int(stopped[0].split(' at step ')[1].split(',')[0])
  assert 100 <= step < 2000 and step % 50 == 0
  assert tf.train.latest_checkpoint(str(save_dir / 'downstream')).endswith(f'ckpt-{step}')
  out = _train_eval(hopper_files, save_dir, 'trail_ebm', *_LONG, '--checkpoint_interval=300')
  assert f'[downstream] resuming from step {step}.' in out
  _assert_same_run(uninterrupted, save_dir, ('pretrain', 'downstream'))


def test_a_run_killed_without_warning_ends_as_if_never_interrupted(
    hopper_files, tmp_path, uninterrupted):
  save_dir = tmp_path / 'run'
  # Killed once it has evaluated step 400, past its checkpoint at 300: the evaluations
  # after 300 are in evals.jsonl but not in the checkpoint, and are made again.
  proc = _start_until(hopper_files, save_dir, '[eval] step 400:', '--checkpoint_interval=300')
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  steps = [json.loads(line)['step']
           for line in (save_dir / 'evals.jsonl').read_text().splitlines() if line.endswith('}')]
  assert steps[:4] == [100, 200, 300, 400]
  _train_eval(hopper_files, save_dir, 'trail_ebm', *_LONG, '--checkpoint_interval=300')
  _assert_same_run(uninterrupted, save_dir, ('pretrain', 'downstream'))
  results = json.loads((save_dir / 'results.json').read_text())
  assert [e['step'] for e in results['evals']] == list(range(100, 2001, 100))


def test_each_consumer_has_its_own_random_stream():
  """streams.py hands out every seed: the two samplers of a run never share one, nor do the
  evaluations of two steps (10 episodes each, seed + i), nor the resets of two shards."""
  for seed in range(50):
    assert streams.seed(seed, 'pretrain batches') != streams.seed(seed, 'expert batches')
    episodes = [set(range(streams.seed(seed, 'evaluation', step),
                          streams.seed(seed, 'evaluation', step) + 10))
                for step in range(10_000, 1_000_001, 10_000)]
    assert len(set().union(*episodes)) == 10 * len(episodes)
    shards = [streams.seed(streams.seed(seed, 'generated shard', i), 'environment reset', r)
              for i in range(4) for r in range(1000)]
    assert len(set(shards)) == len(shards)
    first = streams.generator(seed, 'replay actions', 0).random(4)
    assert not np.allclose(first, streams.generator(seed, 'replay actions', 10_000).random(4))
  with pytest.raises(KeyError):
    streams.seed(0, 'a consumer without a row')
