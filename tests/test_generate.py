"""Generated datasets: D4RL format and episode structure, determinism, names, atomic writes."""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from rl_repr_trail.core import errors
from rl_repr_trail.data import datasets
from rl_repr_trail.data import names
from rl_repr_trail.datagen import experts
from rl_repr_trail.datagen import generate
from rl_repr_trail.datagen import replay
from rl_repr_trail.envs import tasks


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
  monkeypatch.setenv('TRAIL_DATA_DIR', str(tmp_path / 'datasets'))
  monkeypatch.setenv('TRAIL_EXPERT_DIR', str(tmp_path / 'experts'))
  return tmp_path / 'datasets'


def test_collect_datasets_writes_a_d4rl_format_file(data_dir):
  proc = subprocess.run([sys.executable, '-m', 'rl_repr_trail.collect', 'datasets',
                         '--env=hopper', '--kind=medium', '--size=1500', '--num_envs=3'],
                        capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  path = generate.dataset_path(tasks.get_task('hopper'), 'medium', 1500, 0)
  assert path in proc.stdout and os.path.exists(path)
  arrays = datasets.read_hdf5(path)
  assert set(arrays) == {'observations', 'actions', 'rewards', 'terminals', 'timeouts',
                         'next_observations'}
  assert arrays['observations'].shape == (1500, 11) and arrays['actions'].shape == (1500, 3)
  meta = datasets.read_metadata(path)
  assert meta['kind'] == 'medium' and meta['policy'] == 'hopper_medium.npz'
  assert meta['seed'] == 0 and meta['version'] == generate.VERSION
  assert 'not D4RL data' in meta['note']
  dataset = datasets.load(path)
  assert dataset.num_transitions >= 1499


def test_episode_structure_timeouts_and_terminals():
  cheetah = tasks.get_task('halfcheetah')  # Never terminates: every episode times out.
  arrays = generate.rollout(cheetah, None, 2000, seed=0, num_envs=2)
  assert list(np.flatnonzero(arrays['timeouts'])) == [999, 1999]
  assert not arrays['terminals'].any()
  hopper = tasks.get_task('hopper')  # Random hopping falls within a few dozen steps.
  arrays = generate.rollout(hopper, None, 600, seed=0, num_envs=2)
  ends = np.flatnonzero(arrays['terminals'])
  assert len(ends) > 5 and not arrays['timeouts'].any()
  starts = np.concatenate([[0], ends[:-1] + 1])
  assert np.all(ends - starts + 1 < 1000)
  # Within an episode, each row's next observation is the next row's observation.
  inside = np.setdiff1d(np.arange(599), ends)
  np.testing.assert_array_equal(arrays['next_observations'][inside],
                                arrays['observations'][inside + 1])
  # Each episode starts from a fresh reset, near the initial pose.
  assert np.all(np.abs(arrays['observations'][starts[1:], 1:5]) < 0.05)


def test_same_seed_same_contents():
  """Determinism; the medium policy is stochastic, so equality is not trivial."""
  task = tasks.get_task('hopper')
  first, _ = generate.build(task, 'expert', 700, seed=3, num_envs=2)
  again, _ = generate.build(task, 'expert', 700, seed=3, num_envs=2)
  other, _ = generate.build(task, 'expert', 700, seed=4, num_envs=2)
  for key in first:
    np.testing.assert_array_equal(first[key], again[key])
  assert not np.array_equal(first['actions'], other['actions'])


def test_medium_expert_keeps_halves_apart():
  task = tasks.get_task('hopper')
  arrays, meta = generate.build(task, 'medium-expert', 800, seed=0, num_envs=2)
  assert meta['policy'] == ['hopper_medium.npz', 'hopper_expert.npz']
  dataset = datasets.from_arrays(arrays['observations'], arrays['actions'], arrays['terminals'],
                                 arrays['timeouts'], arrays['next_observations'])
  for r in dataset.window_starts(3):
    assert not (r <= 399 < r + 2), 'a window crosses from the medium into the expert half'


def test_interrupted_generation_leaves_no_file(monkeypatch, data_dir):
  def fail(*args, **kwargs):
    raise KeyboardInterrupt
  monkeypatch.setattr(generate, 'rollout', fail)
  with pytest.raises(KeyboardInterrupt):
    generate.ensure('gen:hopper-random-100')
  assert not data_dir.exists() or not any(data_dir.iterdir())


def test_names():
  task, kind, rows = generate.parse_name('gen:ant-medium-replay-5000')
  assert (task.name, kind, rows) == ('ant', 'medium-replay', 5000)
  assert generate.parse_name('gen:hopper-medium-expert')[1:] == ('medium-expert', None)
  assert names.task('gen:walker2d-random').name == 'walker2d'
  with pytest.raises(errors.InputError, match='not a generated dataset name'):
    generate.parse_name('gen:hopper-best')
  with pytest.raises(errors.InputError, match="Unknown task 'pong'"):
    generate.parse_name('gen:pong-random')
  assert generate.resolve('/some/file.hdf5') == '/some/file.hdf5'


def test_medium_replay_without_a_bundle_says_how_to_make_one(tmp_path, monkeypatch):
  monkeypatch.setattr(experts, 'POLICY_DIR', str(tmp_path))
  with pytest.raises(FileNotFoundError, match="No medium-replay bundle for 'hopper'.*"
                     'train_expert --env=hopper --until_medium'):
    generate.check('gen:hopper-medium-replay')
  assert not os.listdir(tmp_path)


def _episode_returns(arrays):
  ends = np.flatnonzero(arrays['terminals'] | arrays['timeouts'])
  starts = np.r_[0, ends[:-1] + 1]
  return np.array([arrays['rewards'][a:b + 1].sum() for a, b in zip(starts, ends)]), ends


def test_medium_replay_is_regenerated_from_the_bundle_up_to_the_medium_level(data_dir):
  # cartpole_swingup's bundle is the shortest run (the warm-up, then two snapshots).
  bundle = replay.load('cartpole_swingup')
  path = generate.ensure('gen:cartpole_swingup-medium-replay')
  dataset = datasets.load(path)
  with h5py.File(path) as f:
    arrays = {k: f[k][:] for k in generate.KEYS}
    assert 'not after every block of updates' in f['metadata/replay'][()].decode()
  assert len(arrays['rewards']) == bundle.end_step
  for key in ('observations', 'next_observations'):
    assert arrays[key].shape == (bundle.end_step, dataset.obs_dim)
  returns, ends = _episode_returns(arrays)
  # Returns rise along the file: the warm-up's random episodes, then the snapshots'.
  warmup = returns[ends < bundle.warmup_steps]
  last = returns[ends >= bundle.steps[-1]]
  assert last.mean() > 3 * warmup.mean(), (warmup, last)
  # It ends at the medium level: its last stretch scores within half of the bundled
  # medium policy's return either way.
  medium = experts.load_bundled('cartpole_swingup', 'medium').metadata['return_mean']
  assert 0.5 * medium < last.mean() < 1.5 * medium, (last.mean(), medium)


@pytest.mark.parametrize('task_name', sorted(t for t in tasks.TASKS
                                             if os.path.exists(replay.bundle_path(t))))
def test_each_bundled_replay_run_ended_at_its_medium_policy_level(task_name):
  bundle = replay.load(task_name)
  medium = experts.load_bundled(task_name, 'medium').metadata['normalized_score_mean']
  expert = experts.load_bundled(task_name, 'expert').metadata['normalized_score_mean']
  assert medium <= bundle.metadata['end_score'] < (medium + expert) / 2
  assert bundle.steps[0] <= bundle.warmup_steps < bundle.end_step
  assert bundle.steps == sorted(bundle.steps) and bundle.steps[-1] < bundle.end_step
  assert bundle.policies[0].obs_dim == tasks.get_task(task_name).obs_dim


def test_every_offline_kind_of_every_table_task_is_bundled():
  for task_name in ('ant', 'halfcheetah', 'hopper', 'walker2d', 'cartpole_swingup',
                    'cheetah_run', 'walker_walk', 'quadruped_run'):
    for kind in generate.KINDS:
      generate.check(f'gen:{task_name}-{kind}')


def test_medium_replay_shards_are_cut_where_they_meet_and_fixed_by_the_seed(monkeypatch):
  monkeypatch.setattr(generate, 'MIN_SHARD_ROWS', 500)  # 4 shards of 500 rows.
  task = tasks.get_task('cartpole_swingup')
  one, info = generate.replay_from_bundle(task, 2000, seed=3, processes=1)
  two, _ = generate.replay_from_bundle(task, 2000, seed=3, processes=2)
  for key in generate.KEYS:
    np.testing.assert_array_equal(one[key], two[key])
  assert info['shard_starts'] == [0, 500, 1000, 1500]
  assert all(one['timeouts'][s - 1] for s in (500, 1000, 1500, 2000))
  other, _ = generate.replay_from_bundle(task, 2000, seed=4, processes=1)
  assert not np.array_equal(one['actions'], other['actions'])


def test_contents_do_not_depend_on_the_number_of_processes(monkeypatch):
  monkeypatch.setattr(generate, 'MIN_SHARD_ROWS', 200)  # 4 shards of 200 rows.
  task = tasks.get_task('hopper')
  seen = []
  one = generate.collect(task, 'medium', 800, seed=2, num_envs=2, processes=1)
  two = generate.collect(task, 'medium', 800, seed=2, num_envs=2, processes=2,
                         on_progress=seen.append)
  for key in generate.KEYS:
    np.testing.assert_array_equal(one[key], two[key])
  assert len(one['actions']) == 800 and seen and seen[-1] <= 800


def test_cached_files_are_tied_to_the_policy_that_made_them(tmp_path, monkeypatch):
  task = tasks.get_task('hopper')
  before = generate.dataset_path(task, 'medium', 100, 0)
  policy = experts.load_bundled('hopper', 'medium')
  policy.biases[-1] = policy.biases[-1] + 0.01
  monkeypatch.setattr(experts, 'POLICY_DIR', str(tmp_path))
  policy.save(experts.bundled_policy_path('hopper', 'medium'))
  after = generate.dataset_path(task, 'medium', 100, 0)
  assert before != after and os.path.basename(after).startswith('hopper-medium-100-seed0-v')
  assert generate.dataset_path(task, 'random', 100, 0).endswith(f'-v{generate.VERSION}.hdf5')


def test_generating_from_a_weak_expert_says_so(tmp_path, monkeypatch, capsys):
  policy = experts.load_bundled('hopper', 'expert')
  assert experts.shortfall_note('hopper') == ''  # 97.4: an expert.
  policy.metadata['normalized_score_mean'] = 35.4
  monkeypatch.setattr(experts, 'POLICY_DIR', str(tmp_path))
  policy.save(experts.bundled_policy_path('hopper', 'expert'))
  generate.ensure('gen:hopper-expert-50')
  assert 'bundled hopper expert scores 35.4 (normalized), below the 90' in capsys.readouterr().out
  generate.ensure('gen:hopper-random-50')
  assert 'Note:' not in capsys.readouterr().out


def test_a_dm_control_expert_is_held_to_80(tmp_path, monkeypatch):
  """DM Control experts count from 80 (return / 10), D4RL ones from 90; the bundled
  cheetah_run expert (86.9) is one."""
  assert experts.shortfall_note('cheetah_run') == ''
  policy = experts.load_bundled('cheetah_run', 'expert')
  monkeypatch.setattr(experts, 'POLICY_DIR', str(tmp_path))
  for score, weak in ((85.0, False), (79.0, True)):
    policy.metadata['normalized_score_mean'] = score
    policy.save(experts.bundled_policy_path('cheetah_run', 'expert'))
    assert ('below the 80 of an expert' in experts.shortfall_note('cheetah_run')) == weak


def test_generated_ant_data_is_laid_out_as_d4rl_and_the_policy_sees_zeros(tmp_path, capsys):
  from rl_repr_trail.experiment import run_config, runner  # pylint: disable=g-import-not-at-top
  ant = tasks.get_task('ant')
  path = generate.ensure('gen:ant-random-1200', num_envs=2)
  # The cache name of the D4RL-like layout differs from the earlier one (real forces).
  assert os.path.basename(path) == f'ant-random-1200-seed0-v{generate.VERSION}-zerocontact.hdf5'
  arrays = datasets.read_hdf5(path)
  assert arrays['observations'].shape == (1200, 111)
  assert not np.any(arrays['observations'][:, 27:]) and np.any(arrays['observations'][:, :27])
  assert 'contact forces) are zeros' in datasets.read_metadata(path)['observation_layout']
  # Ant-v4's reward without contact forces has no contact cost: healthy + forward - control.
  env = tasks.make_env(ant, seed=0)
  env.reset(seed=0)
  info = env.step(np.full(8, 0.5))[4]
  assert 'reward_contact' not in info and 'contact_cost' not in info
  config = run_config.from_settings(dict(
      method='bc', offline_data=None,
      expert_data='gen:ant-random-1200', expert_size=1000, hidden=(16, 16), batch_size=32,
      downstream_steps=20, eval_interval=20, eval_episodes=1, log_interval=10,
      checkpoint_interval=20, save_dir=str(tmp_path / 'run')))
  runner.run(config)
  assert 'the policy sees dims (27, 111) as zeros' in capsys.readouterr().out
