"""train_eval end to end on small D4RL-format files, in the real MuJoCo environment."""

import json
import os
import pathlib
import re
import socket
import subprocess
import sys

import h5py
import numpy as np
import pytest
import tensorflow as tf

from rl_repr_trail.core import errors
from rl_repr_trail.experiment import default_task
from rl_repr_trail.experiment import run_config
from rl_repr_trail.experiment import run_directory
from rl_repr_trail.experiment import runner
from rl_repr_trail.methods import registry
from rl_repr_trail.methods.bc import config as bc_config
from rl_repr_trail.methods.bc import learner as bc_learner
from rl_repr_trail.methods.latent_bc import config as latent_bc_config
from rl_repr_trail.methods.skills import config as skills_config
from rl_repr_trail.methods.trail import config as trail_config


from conftest import write_rollout

SMALL = dict(embed_dim=16, fourier_dim=32, hidden=(32, 32), batch_size=32, expert_size=500,
             eval_episodes=2, log_interval=50, checkpoint_interval=100)


def _config(files, save_dir, **overrides):
  settings = dict(SMALL, offline_data=files['offline'], expert_data=files['expert'],
                  pretrain_steps=200, downstream_steps=200, eval_interval=100,
                  save_dir=str(save_dir))
  settings.update(overrides)
  return run_config.from_settings(settings)


def _tags(logdir):
  tags = set()
  for name in os.listdir(logdir):
    for event in tf.compat.v1.train.summary_iterator(os.path.join(logdir, name)):
      tags.update(v.tag for v in event.summary.value)
  return tags


@pytest.mark.parametrize('embed_learner,downstream', [
    ('trail_ebm', 'latent_bc'), ('trail_linear', 'latent_bc'), ('opal', 'latent_bc'),
    ('spirl', 'latent_bc'), ('skild', 'latent_bc'), ('none', 'bc')])
def test_run_writes_results_and_summaries(hopper_files, tmp_path, embed_learner, downstream):
  save_dir = tmp_path / 'run'
  method = registry.from_flags(embed_learner, downstream).name
  results = runner.run(_config(hopper_files, save_dir, method=method, window=4, skill_dim=3))
  with open(save_dir / 'results.json') as f:
    saved = json.load(f)
  label = registry.from_flags(embed_learner, downstream).label
  assert saved['method'] == results['method'] == label
  assert saved['task'] == 'hopper' and saved['downstream_steps'] == 200
  assert [e['step'] for e in saved['evals']] == [100, 200]
  assert saved['final']['step'] == 200
  assert np.isfinite(saved['final']['return_mean'])
  parts = saved['time_s']
  assert set(parts) == {'pretraining', 'downstream', 'evaluation'}
  assert (parts['pretraining'] > 0) == (embed_learner != 'none')
  assert parts['downstream'] > 0 and parts['evaluation'] > 0
  tags = _tags(save_dir / 'tb')
  expected = {'downstream/loss', 'downstream/steps_per_sec', 'eval/return', 'eval/normalized_score'}
  if embed_learner.startswith('trail'):
    expected |= {'pretrain/contrastive_loss', 'pretrain/contrastive_accuracy',
                 'pretrain/decoder_nll'}
  elif embed_learner != 'none':
    expected |= {'pretrain/reconstruction', 'pretrain/kl', 'downstream/action_nll'}
  if embed_learner != 'none':
    expected |= {'pretrain/loss', 'pretrain/steps_per_sec', 'downstream/latent_nll'}
  assert expected <= tags, expected - tags


def test_rerun_with_other_settings_is_refused(hopper_files, tmp_path):
  save_dir = tmp_path / 'run'
  runner.run(_config(hopper_files, save_dir, method='bc'))
  with pytest.raises(errors.InputError, match='holds a run with other settings'):
    runner.run(_config(hopper_files, save_dir, method='bc', seed=5))
  # Rates and decay steps are part of the identity: a rerun may change them only when
  # asked to, and never with another identity setting beside them.
  for change in (dict(downstream_learning_rate=3e-4), dict(decay_steps=(100, 150))):
    with pytest.raises(errors.InputError, match=f"'{next(iter(change))}'.*--resume_changed"):
      runner.run(_config(hopper_files, save_dir, method='bc', **change))
  with pytest.raises(errors.InputError, match="'seed'") as error:
    runner.run(_config(hopper_files, save_dir, method='bc', seed=5,
                       downstream_learning_rate=3e-4, resume_changed=True))
  assert '--resume_changed' not in str(error.value)
  with pytest.raises(errors.InputError, match="'entropy_term': .True, False."):
    runner.run(_config(hopper_files, save_dir, method='bc',
                       entropy_term=False))
  # A setting the method does not have is no part of its directory's identity: BC has no
  # latent policy.
  assert run_directory.settings_diff(str(save_dir), _config(
      hopper_files, save_dir, method='bc', latent_action='mean')) == {}
  # A run made with the defaults before the original code's (no 'defaults' key).
  config_path = save_dir / 'config.json'
  saved = json.loads(config_path.read_text())
  del saved['defaults']
  config_path.write_text(json.dumps(saved))
  with pytest.raises(errors.InputError, match='defaults of an earlier version'):
    runner.run(_config(hopper_files, save_dir, method='bc'))


def test_a_run_directory_saved_flat_before_the_nested_settings_is_still_matched(tmp_path):
  """config.json of DEFAULTS_VERSION 2 held one flat dict (the flags, --env as 'task', the
  method as its pair): a rerun with the same settings resumes it, other settings are named."""
  config = run_config.from_settings(dict(method='trail_linear', offline_data='o.hdf5',
                                         expert_data='e.hdf5', hidden=(32, 32), seed=2))
  flat = {'offline_data': 'o.hdf5', 'expert_data': 'e.hdf5', 'task': None,
          'embed_learner': 'trail_linear', 'downstream': 'latent_bc', 'expert_size': 10000,
          'embed_dim': 256, 'fourier_dim': 256, 'window': 10, 'skill_dim': 8,
          'hidden': [32, 32], 'pretrain_steps': 5, 'downstream_steps': 5, 'batch_size': 256,
          'embed_learning_rate': None, 'downstream_learning_rate': None,
          'finetune_decoder': True, 'entropy_term': True, 'latent_action': 'sample',
          'eval_interval': 5, 'eval_episodes': 1, 'log_interval': 5, 'checkpoint_interval': 5,
          'seed': 2, 'save_dir': None, 'distribution': 'none', 'defaults': 2}
  (tmp_path / 'config.json').write_text(json.dumps(flat))
  assert run_directory.settings_diff(str(tmp_path), config) == {}
  assert run_directory.settings_diff(str(tmp_path), run_config.replace(config, seed=3)) == {
      'seed': (2, 3)}
  assert run_directory.settings_diff(str(tmp_path), run_config.replace(
      config, method='trail_ebm'))['method'] == ('trail_linear', 'trail_ebm')


class _Networks(tf.Module):
  """A learner whose checkpoints hold variables of the given names."""

  def __init__(self, *names):
    super().__init__()
    self.held = {name: tf.Variable(np.ones(3, np.float32)) for name in names}

  def checkpoint(self) -> tf.train.Checkpoint:
    return tf.train.Checkpoint(**self.held)

  def optimizers(self) -> list:
    return []


def test_a_checkpoint_of_other_networks_is_refused(tmp_path):
  # As when a run is resumed by a version of the project whose networks differ.
  phase = lambda *names: runner._Phase('downstream', str(tmp_path), 10, None, None,
                                       _Networks(*names), tf.Module())
  phase('kernel').manager.save()
  phase('kernel')
  with pytest.raises(errors.InputError, match=r'ckpt-1: this checkpoint does not hold the '
                     'downstream networks of this version'):
    phase('mean_kernel', 'log_var_kernel')


def _bad(tmp_path, rows_fn=None, name='bad.hdf5', task='hopper'):
  path = tmp_path / name
  write_rollout(path, task, 300, seed=4)
  if rows_fn:
    with h5py.File(path, 'r+') as f:
      rows_fn(f)
  return str(path)


def _drop_terminals(f):
  del f['terminals']


def _nan_observation(f):
  obs = f['observations'][:]
  obs[7, 3] = np.inf
  f['observations'][:] = obs


def _huge_observation(f):
  obs = f['observations'][:]
  obs[11, 2] = 1e30
  f['observations'][:] = obs


def _no_rows(f):
  for key in list(f.keys()):
    if isinstance(f[key], h5py.Dataset):
      shape = f[key].shape
      del f[key]
      f.create_dataset(key, shape=(0,) + shape[1:], dtype='f4')


def _one_row(f):
  for key in list(f.keys()):
    if isinstance(f[key], h5py.Dataset):
      values = f[key][:1]
      del f[key]
      f[key] = values


def _observations_as_group(f):
  obs = f['observations'][:]
  del f['observations']
  f.create_group('observations')['data'] = obs


@pytest.mark.parametrize('case,match', [
    ('nan_rate', r'--embed_learning_rate=nan: expected a finite positive rate'),
    ('inf_rate', r'--downstream_learning_rate=inf: expected a finite positive rate'),
    ('negative_rate', r'--embed_learning_rate=-0.001: expected a finite positive rate'),
    ('huge', r"key 'observations' holds values beyond \+-1e\+06 \(first at row 11: 1e\+30\)"),
    ('zero_rows', 'holds no transition|0 transitions, fewer than one batch'),
    ('one_row', r'--offline_data .*bad.hdf5: [01] transitions, fewer than one batch '
                r'\(--batch_size=32\)'),
    ('directory', 'is a directory; expected a D4RL-format HDF5 file'),
    ('group', r"key 'observations' is an HDF5 group \(holding \['data'\]\); expected an array"),
    ('missing_file', 'does not exist'),
    ('missing_key', "lacks the key.*terminals"),
    ('nan', "key 'observations' holds NaN or inf .*row 7"),
    ('offline_dims', '--offline_data .*halfcheetah.hdf5: observations have 17 dims and actions 6; '
                     'the hopper environment'),
    ('expert_dims', '--expert_data .*halfcheetah.hdf5: observations have 17 dims'),
    ('unknown_env', "Unknown task 'pong'"),
    ('unknown_dataset', "Unknown dataset name 'pong-medium-v2'"),
    ('zero_steps', '--pretrain_steps must be positive, got 0'),
    ('negative_steps', '--downstream_steps must be positive, got -5'),
    ('unknown_method', r"--method=gail: not a method: expected one of \('bc', "),
])
def test_bad_input_is_named_and_writes_nothing(hopper_files, tmp_path, case, match):
  overrides = {}
  if case == 'nan_rate':
    overrides['embed_learning_rate'] = float('nan')
  elif case == 'inf_rate':
    overrides['downstream_learning_rate'] = float('inf')
  elif case == 'negative_rate':
    overrides['embed_learning_rate'] = -1e-3
  elif case == 'huge':
    overrides['offline_data'] = _bad(tmp_path, _huge_observation)
  elif case == 'zero_rows':
    overrides['offline_data'] = _bad(tmp_path, _no_rows)
  elif case == 'one_row':
    overrides['offline_data'] = _bad(tmp_path, _one_row)
  elif case == 'directory':
    overrides['expert_data'] = str(tmp_path)
  elif case == 'group':
    overrides['offline_data'] = _bad(tmp_path, _observations_as_group)
  elif case == 'missing_file':
    overrides['offline_data'] = str(tmp_path / 'nowhere.hdf5')
  elif case == 'missing_key':
    overrides['expert_data'] = _bad(tmp_path, _drop_terminals)
  elif case == 'nan':
    overrides['offline_data'] = _bad(tmp_path, _nan_observation)
  elif case == 'offline_dims':
    overrides['offline_data'] = _bad(tmp_path, name='halfcheetah.hdf5', task='halfcheetah')
  elif case == 'expert_dims':
    overrides['expert_data'] = _bad(tmp_path, name='halfcheetah.hdf5', task='halfcheetah')
    overrides['env'] = 'hopper'
  elif case == 'unknown_env':
    overrides['env'] = 'pong'
  elif case == 'unknown_dataset':
    overrides['expert_data'] = 'pong-medium-v2'
  elif case == 'zero_steps':
    overrides['pretrain_steps'] = 0
  elif case == 'negative_steps':
    overrides['downstream_steps'] = -5
  elif case == 'unknown_method':
    overrides['method'] = 'gail'
  save_dir = tmp_path / 'run'
  with pytest.raises(errors.InputError, match=match):
    runner.run(_config(hopper_files, save_dir, **overrides))
  assert not save_dir.exists()


def test_binary_reports_bad_input_without_traceback(hopper_files, tmp_path):
  save_dir = tmp_path / 'run'
  proc = subprocess.run(
      [sys.executable, '-m', 'rl_repr_trail.train_eval',
       f'--offline_data={tmp_path / "nowhere.hdf5"}', f'--expert_data={hopper_files["expert"]}',
       f'--save_dir={save_dir}'], capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2
  assert f'error: Dataset file {tmp_path / "nowhere.hdf5"} does not exist.' in proc.stderr
  assert 'Traceback' not in proc.stderr
  assert not save_dir.exists()


def test_default_task_runs_end_to_end_at_reduced_scale(tmp_path):
  env = dict(os.environ, TRAIL_DEFAULT_SCALE='0.02', TRAIL_DATA_DIR=str(tmp_path / 'data'))
  proc = subprocess.run([sys.executable, '-m', 'rl_repr_trail.train_eval',
                         f'--save_dir={tmp_path / "runs"}'],
                        capture_output=True, text=True, timeout=600, env=env)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'running the default task' in proc.stdout
  assert f'Generating gen:{default_task.TASK}-{default_task.OFFLINE_KIND}-2000' in proc.stdout
  first = proc.stdout.splitlines()[0]  # Says which settings the task uses and why.
  assert first.startswith('No --offline_data') and 'Why this task: ' in first, first
  table = proc.stdout[proc.stdout.index('| method |'):]
  assert '| TRAIL EBM |' in table and '| BC |' in table
  assert 'TRAIL EBM / BC, final normalized score: ' in table
  for method in ('trail_ebm', 'bc'):
    with open(tmp_path / 'runs' / method / 'results.json') as f:
      assert json.load(f)['downstream_steps'] == 400


# Runs train_eval's main with runner.run replaced by a stub that prints each config.
_STUBBED_TRAIN_EVAL = """
import json, sys
from absl import app
from rl_repr_trail import train_eval
from rl_repr_trail.experiment import runner
def stub(config):
  print('CONFIG ' + json.dumps(dict(config.flags(), embed_learner=config.spec.embed_learner,
                                     downstream=config.spec.downstream)), flush=True)
  score = {'normalized_score_mean': 1.0, 'normalized_score_std': 0.0, 'return_mean': 1.0}
  return {'method': config.label, 'final': score, 'best': score}
runner.run = stub
app.run(train_eval.main, argv=sys.argv)
"""


def _stubbed_train_eval(*flags):
  env = {k: v for k, v in os.environ.items() if k != 'TRAIL_DEFAULT_SCALE'}
  proc = subprocess.run([sys.executable, '-c', _STUBBED_TRAIN_EVAL, *flags],
                        capture_output=True, text=True, timeout=120, env=env)
  configs = [json.loads(line[len('CONFIG '):]) for line in proc.stdout.splitlines()
             if line.startswith('CONFIG ')]
  return proc, configs


def test_default_task_applies_the_flags_given_to_both_runs(tmp_path):
  proc, configs = _stubbed_train_eval('--noentropy_term', '--downstream_steps=300',
                                      '--seed=3', f'--env={default_task.TASK}',
                                      f'--save_dir={tmp_path}')
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'with --downstream_steps=300 --noentropy_term --seed=3.' in proc.stdout
  assert [(c['embed_learner'], c['downstream']) for c in configs] == [
      ('trail_ebm', 'latent_bc'), ('none', 'bc')]
  for c in configs:
    assert (c['entropy_term'], c['downstream_steps'], c['seed']) == (False, 300, 3)
    assert c['offline_data'] == f'gen:{default_task.TASK}-{default_task.OFFLINE_KIND}-100000'
    assert (c['expert_data'], c['expert_size']) == (f'gen:{default_task.TASK}-expert-11000', 1000)
  assert configs[0]['pretrain_steps'] == 20_000  # What was not given keeps its default.
  assert configs[0]['save_dir'] == str(tmp_path / 'trail_ebm')


def test_method_flag_names_the_pair_and_refuses_to_contradict_it():
  data_flags = ('--offline_data=gen:hopper-medium-1000', '--expert_data=gen:hopper-expert-1000')
  for method in (registry.get('opal'), registry.get('bc')):  # A process each: two suffice.
    proc, configs = _stubbed_train_eval(f'--method={method.name}', *data_flags)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [(c['embed_learner'], c['downstream']) for c in configs] == [
        (method.embed_learner, method.downstream)]
  proc, configs = _stubbed_train_eval('--method=bc', '--embed_learner=opal', *data_flags)
  assert proc.returncode == 2 and not configs and 'Traceback' not in proc.stderr
  assert 'error: --method=bc runs --embed_learner=none, not --embed_learner=opal' in proc.stderr
  proc, _ = _stubbed_train_eval('--method=opal', '--downstream=latent_bc', *data_flags)
  assert proc.returncode == 0, proc.stderr[-3000:]  # Agreeing flags are fine.
  proc, configs = _stubbed_train_eval('--downstream=bc', *data_flags)  # With trail_ebm.
  assert proc.returncode == 2 and not configs and 'Traceback' not in proc.stderr
  assert 'error: --embed_learner=trail_ebm with --downstream=bc is not a method' in proc.stderr


@pytest.mark.parametrize('flag', ['--env=walker2d', '--method=bc', '--embed_learner=opal',
                                  '--downstream=bc'])
def test_default_task_refuses_a_flag_that_picks_another_task_or_method(flag):
  proc, configs = _stubbed_train_eval(flag)
  assert proc.returncode == 2 and not configs
  assert f'error: {flag} needs --offline_data and --expert_data' in proc.stderr
  assert 'Traceback' not in proc.stderr


def test_default_scale_must_be_a_fraction(tmp_path):
  env = dict(os.environ, TRAIL_DEFAULT_SCALE='2')
  proc = subprocess.run([sys.executable, '-m', 'rl_repr_trail.train_eval',
                         f'--save_dir={tmp_path / "runs"}'],
                        capture_output=True, text=True, timeout=120, env=env)
  assert proc.returncode == 2 and 'TRAIL_DEFAULT_SCALE=2: expected a number in (0, 1]' in proc.stderr
  assert not (tmp_path / 'runs').exists()


def test_every_gpu_grows_its_memory_so_that_processes_share_it(monkeypatch):
  from rl_repr_trail.core import devices  # pylint: disable=g-import-not-at-top
  fake = ['GPU:0', 'GPU:1']  # This machine has none: what TensorFlow would list.
  grown = []
  monkeypatch.setattr(tf.config, 'list_physical_devices',
                      lambda kind=None: fake if kind == 'GPU' else [])
  monkeypatch.setattr(tf.config.experimental, 'set_memory_growth',
                      lambda device, on: grown.append((device, on)))
  assert devices.configure_gpus() == fake
  assert grown == [('GPU:0', True), ('GPU:1', True)]


@pytest.mark.parametrize('env_threads, expected', [(None, 1), ('2', 0)])
def test_configure_one_per_op_unless_the_environment_says(env_threads, expected):
  """train_eval and the benchmark run each op on one thread; TF_NUM_INTRAOP_THREADS wins
  (0: left to TensorFlow, which reads the variable)."""
  env = {k: v for k, v in os.environ.items() if k != 'TF_NUM_INTRAOP_THREADS'}
  if env_threads:
    env['TF_NUM_INTRAOP_THREADS'] = env_threads
  code = ('import tensorflow as tf; from rl_repr_trail.core import devices; '
          'devices.configure(); tf.constant(1.0) + 1.0; '
          'print(tf.config.threading.get_intra_op_parallelism_threads())')
  proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                        timeout=120, env=env)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.split()[-1] == str(expected)


def test_a_diverging_run_stops_keeps_its_checkpoint_and_resumes_once_fixed(hopper_files, tmp_path,
                                                                           capsys):
  save_dir = tmp_path / 'run'
  good = _config(hopper_files, save_dir, pretrain_steps=100, downstream_steps=200,
                 checkpoint_interval=100, log_interval=50)
  # Latent BC at a rate that blows its weights past float32's range within a few steps;
  # pretraining (checkpointed at step 100) went well.
  bad = run_config.replace(good, downstream_learning_rate=1e4)
  with pytest.raises(errors.RunError, match=r'\[downstream\] diverged between steps 0 and 50: '
                     r'.*(nan|inf).*no checkpoint of this phase was saved') as error:
    runner.run(bad)
  assert '\n' not in str(error.value)
  assert not (save_dir / 'results.json').exists()
  assert tf.train.latest_checkpoint(str(save_dir / 'pretrain')).endswith('ckpt-100')
  assert tf.train.latest_checkpoint(str(save_dir / 'downstream')) is None
  assert not (save_dir / run_directory.LOCK_FILE).exists()
  tags = _tags(save_dir / 'tb')  # TensorBoard kept what came before.
  assert 'pretrain/contrastive_loss' in tags and 'downstream/loss' not in tags
  # With the rate fixed, asked for explicitly, the same directory goes on from the last
  # good checkpoint; config.json keeps the first rate and records the change.
  capsys.readouterr()
  with pytest.raises(errors.InputError, match='pass --resume_changed'):
    runner.run(good)
  results = runner.run(run_config.replace(good, resume_changed=True))
  out = capsys.readouterr().out
  assert '[pretrain] finished earlier at step 100: reusing it.' in out
  assert 'changed downstream_learning_rate: 10000.0 -> 0.0001 (recorded in config.json)' in out
  assert results['downstream_steps'] == 200 and np.isfinite(results['final']['return_mean'])
  saved = json.loads((save_dir / 'config.json').read_text())
  assert saved['downstream']['learning_rate'] == 1e4
  assert saved['history'] == [{'step': {'pretrain': 100, 'downstream': 0},
                               'setting': 'downstream_learning_rate', 'old': 1e4, 'new': 1e-4}]
  assert run_config.from_saved(saved).downstream.learning_rate == 1e-4


def test_a_state_with_a_non_finite_weight_is_never_saved(hopper_files, tmp_path):
  save_dir = tmp_path / 'run'
  config = _config(hopper_files, save_dir, method='bc',
                   downstream_steps=100, checkpoint_interval=50, log_interval=50)
  original = bc_learner.BC.update

  # A weight turns inf at step 60. Where ReLU maps the NaN it makes to 0 (oneDNN's CPU
  # kernel does), the reported loss stays finite and only the weight check sees it; the
  # check of the reported metrics is turned off here so that it is the weight check, on
  # any kernel, that stops the run.
  def update(self, batch):
    metrics = original(self, batch)
    variable = self.policy.trainable_variables[0]
    variable.assign(tf.where(tf.equal(self.updates, 60), variable + np.inf, variable))
    return metrics

  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(bc_learner.BC, 'update', update)
    patch.setattr(runner._Phase, '_check_finite', lambda *args: None)  # pylint: disable=protected-access
    with pytest.raises(errors.RunError, match=r'\[downstream\] diverged between steps 100 '
                       r'and 100: variable \S+ holds NaN or inf.*its last checkpoint \(ckpt-50\)'):
      runner.run(config)
  assert tf.train.latest_checkpoint(str(save_dir / 'downstream')).endswith('ckpt-50')


def test_the_binary_exits_nonzero_on_divergence_with_quiet_logs(hopper_files, tmp_path):
  proc = subprocess.run(
      [sys.executable, '-m', 'rl_repr_trail.train_eval', '--embed_learner=none',
       '--downstream=bc', f'--expert_data={hopper_files["expert"]}', '--downstream_steps=300',
       '--downstream_learning_rate=1e4', '--hidden=32,32', '--batch_size=32',
       '--expert_size=500', '--log_interval=50', '--checkpoint_interval=100',
       f'--save_dir={tmp_path / "run"}'],
      capture_output=True, text=True, timeout=300)
  assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
  assert 'error: [downstream] diverged between steps 0 and 50' in proc.stderr
  assert 'Traceback' not in proc.stderr
  # absl's INFO lines (TensorFlow logs one per checkpoint) are off unless --verbosity says.
  assert 'functional_saver' not in proc.stderr
  assert not (tmp_path / 'run' / 'results.json').exists()


def test_a_second_run_on_a_locked_directory_is_refused_and_a_stale_lock_taken_over(
    hopper_files, tmp_path, capsys):
  save_dir = tmp_path / 'run'
  settings = dict(method='bc', downstream_steps=100_000, eval_interval=50,
                  checkpoint_interval=50)
  # A real run holds the directory: it is evaluating, so its lock is taken.
  first = subprocess.Popen(
      [sys.executable, '-m', 'rl_repr_trail.train_eval', *(
          f'--{k}={",".join(map(str, v)) if isinstance(v, tuple) else v}'
          for k, v in _config(hopper_files, save_dir, **settings).flags().items()
          if v is not None and not isinstance(v, bool))],
      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  try:
    for line in first.stdout:
      if line.startswith('[eval] step 50:'):
        break
    config = _config(hopper_files, save_dir, **dict(settings, downstream_steps=100))
    with pytest.raises(errors.InputError, match=rf'{save_dir} is in use by another run '
                       rf'\(process {first.pid} on host {socket.gethostname()}'):
      runner.run(config)
  finally:
    first.kill()  # Killed without warning: its lock stays behind.
    first.wait()
  assert (save_dir / run_directory.LOCK_FILE).exists()
  # The owner is gone now: its lock is stale and taken over.
  runner.run(config)
  assert f'taking over the lock of process {first.pid}' in capsys.readouterr().out
  assert (save_dir / 'results.json').exists() and not (save_dir / run_directory.LOCK_FILE).exists()


def test_a_resumed_run_uses_the_learning_rate_it_is_given(hopper_files, tmp_path):
  # The optimizer's rate is a variable its checkpoint holds; a rerun that asks for another
  # (e.g. after a divergence) must train with the new one.
  save_dir = tmp_path / 'run'
  first = _config(hopper_files, save_dir, pretrain_steps=100, downstream_steps=100,
                  checkpoint_interval=100)
  runner.run(first)
  os.remove(save_dir / 'results.json')
  runner.run(run_config.replace(first, pretrain_steps=200, embed_learning_rate=1e-3,
                                resume_changed=True))
  reader = tf.train.load_checkpoint(str(save_dir / 'pretrain'))
  rates = {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
           if 'learning_rate' in k and 'temperature' not in k}
  assert rates and all(np.isclose(v, 1e-3) for v in rates.values()), rates


def _readme_flag_rows() -> list[tuple[str, str]]:
  """(flag, documented default) of each flag in README's flag table."""
  text = (pathlib.Path(__file__).resolve().parent.parent / 'README.md').read_text()
  table = text[text.index('| flag | default | meaning |'):]
  rows = []
  for line in table.splitlines()[2:]:
    if not line.startswith('| `--'):
      break
    names_cell, default_cell = [c.strip() for c in line.split(' | ')[:2]]
    names = re.findall(r'--(?:\[no\])?(\w+)', names_cell)
    defaults = default_cell.split(', ') if len(names) > 1 else [default_cell]
    assert len(defaults) == len(names), line
    rows += zip(names, defaults)
  return rows


def test_readme_flag_table_matches_the_defaults():
  """README's table lists every flag made from the config dataclasses, each with their
  default (for a rate chosen by method, the config classes'); a row naming no flag fails."""
  defaults = {name: flag.default for name, flag in run_config.all_flags().items()}
  method = registry.get(run_config.RunConfig.method)  # The pair's flags name its method.
  defaults.update(embed_learner=method.embed_learner, downstream=method.downstream)
  rates = {'embed_learning_rate': (trail_config.TrailConfig.learning_rate,
                                   skills_config.SkillConfig.learning_rate),
           'downstream_learning_rate': (latent_bc_config.LatentBCConfig.learning_rate,
                                        bc_config.BCConfig.learning_rate)}
  rows = _readme_flag_rows()
  assert sorted({name for name, _ in rows}) == sorted(defaults), rows
  for name, documented in rows:
    default = defaults[name]
    first = documented.split(' (')[0].strip('`')
    if name in rates:  # "3e-4 (skills: 1e-4)": the method's config, then the other's.
      other = float(re.search(r'\(\w+: ([\d.e-]+)\)', documented).group(1))
      assert (float(first), other) == rates[name], (name, documented)
    elif isinstance(default, bool):
      assert first == ('on' if default else 'off'), (name, documented, default)
    elif isinstance(default, tuple):
      assert tuple(int(v) for v in first.split(',')) == default, (name, documented, default)
    elif isinstance(default, (int, float)):
      assert float(first) == default, (name, documented, default)
    elif default is None:
      assert not re.fullmatch(r'[\d.e-]+', first), (name, documented)
    else:
      assert first == default, (name, documented, default)
