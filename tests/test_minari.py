"""Minari datasets written with Minari's own DataCollector: read, trained on, refused."""

import json
import os
import shutil

import gymnasium as gym
import minari
from minari.data_collector.episode_buffer import EpisodeBuffer
import numpy as np
import pytest

from rl_repr_trail.data import datasets
from rl_repr_trail.data import minari_datasets
from rl_repr_trail.experiment import run_config
from rl_repr_trail.experiment import runner


def _write(dataset_id, episodes, seed, ref_scores=True, max_steps=120):
  """A Hopper-v5 dataset of `episodes` random-action episodes, cut at max_steps, written
  by Minari's own writer (create_dataset_from_buffers, which DataCollector calls; its
  step recorder needs jax, which the project does not install)."""
  env = gym.make('Hopper-v5', max_episode_steps=max_steps)
  rng = np.random.default_rng(seed)
  buffers = []
  for episode in range(episodes):
    obs, _ = env.reset(seed=seed * 100 + episode)
    steps = {'observations': [obs], 'actions': [], 'rewards': [], 'terminations': [],
             'truncations': []}
    done = False
    while not done:
      action = rng.uniform(-1, 1, 3).astype(np.float32)
      obs, reward, terminated, truncated, _ = env.step(action)
      for key, value in (('observations', obs), ('actions', action), ('rewards', reward),
                         ('terminations', terminated), ('truncations', truncated)):
        steps[key].append(value)
      done = terminated or truncated
    buffers.append(EpisodeBuffer(
        id=episode, seed=seed * 100 + episode, observations=np.array(steps['observations']),
        actions=np.array(steps['actions']), rewards=steps['rewards'],
        terminations=steps['terminations'], truncations=steps['truncations'], infos={}))
  scores = dict(ref_min_score=-20.0, ref_max_score=3234.0) if ref_scores else {}
  minari.create_dataset_from_buffers(
      dataset_id, buffers, env=env, eval_env=env.spec, algorithm_name='random',
      author='rl_repr_trail tests', author_email='none', code_permalink='none',
      description='random actions', **scores)
  env.close()


@pytest.fixture(name='minari_dir')
def _minari_dir(tmp_path, monkeypatch):
  monkeypatch.setenv('MINARI_DATASETS_PATH', str(tmp_path / 'minari'))
  _write('test/hopper/random-v0', episodes=30, seed=0)
  _write('test/hopper/expert-v0', episodes=12, seed=1)
  return tmp_path / 'minari'


def test_episodes_become_transitions_with_their_ends(minari_dir):
  del minari_dir
  dataset = minari.load_dataset('test/hopper/random-v0')
  episodes = list(dataset.iterate_episodes())
  loaded = minari_datasets.load('minari:test/hopper/random-v0')
  assert loaded.num_transitions == sum(len(e.actions) for e in episodes)
  first = episodes[0]
  np.testing.assert_allclose(loaded.observations[:len(first.actions)], first.observations[:-1],
                             rtol=1e-6)
  # Each episode ends at its last step: a termination (the hopper fell) or a truncation.
  ends = np.flatnonzero(loaded.episode_end)
  assert len(ends) == len(episodes)
  assert ends[0] == len(first.actions) - 1
  task = minari_datasets.task('minari:test/hopper/random-v0')
  assert (task.env_id, task.obs_dim, task.action_dim) == ('Hopper-v5', 11, 3)
  assert (task.ref_min_score, task.ref_max_score) == (-20.0, 3234.0)
  # The dataset's episode limit is the evaluation's.
  assert dict(task.env_kwargs)['max_episode_steps'] == 120


def test_minari_datasets_train_and_evaluate_end_to_end(minari_dir, tmp_path):
  del minari_dir
  config = run_config.from_settings(dict(
      offline_data='minari:test/hopper/random-v0', expert_data='minari:test/hopper/expert-v0',
      embed_dim=16, fourier_dim=32, hidden=(32, 32), batch_size=32, expert_size=200,
      eval_episodes=2, log_interval=50, checkpoint_interval=100, pretrain_steps=100,
      downstream_steps=100, eval_interval=100, save_dir=str(tmp_path / 'run')))
  results = runner.run(config)
  with open(tmp_path / 'run' / 'results.json') as f:
    saved = json.load(f)
  assert saved['task'] == results['task'] == 'Hopper-v5'
  assert saved['final']['step'] == 100 and np.isfinite(saved['final']['return_mean'])
  # Normalized with the dataset's own reference scores.
  ret = saved['final']['return_mean']
  assert saved['final']['normalized_score_mean'] == pytest.approx(100 * (ret + 20) / 3254)


def test_without_reference_scores_the_score_is_the_return(minari_dir, capsys):
  del minari_dir
  _write('test/hopper/noref-v0', episodes=2, seed=2, ref_scores=False)
  task = minari_datasets.task('minari:test/hopper/noref-v0')
  assert (task.ref_min_score, task.ref_max_score) == (0.0, 100.0)
  assert 'has no reference scores' in capsys.readouterr().out


def test_bad_minari_datasets_are_refused_in_one_line(minari_dir):
  with pytest.raises(datasets.DataError, match=r"no local Minari dataset 'mujoco/ant/medium-v0' "
                     r'under .*minari download mujoco/ant/medium-v0'):
    minari_datasets.load('minari:mujoco/ant/medium-v0')
  # Episodes missing: the data file is gone.
  broken = minari_dir / 'test' / 'hopper' / 'broken-v0'
  shutil.copytree(minari_dir / 'test' / 'hopper' / 'random-v0', broken)
  os.remove(broken / 'data' / 'main_data.hdf5')
  with pytest.raises(datasets.DataError,
                     match='broken-v0: cannot read the Minari dataset') as error:
    minari_datasets.load('minari:test/hopper/broken-v0')
  assert '\n' not in str(error.value)
  # Metadata missing.
  nometa = minari_dir / 'test' / 'hopper' / 'nometa-v0'
  shutil.copytree(minari_dir / 'test' / 'hopper' / 'random-v0', nometa)
  os.remove(nometa / 'data' / 'metadata.json')
  with pytest.raises(datasets.DataError, match='nometa-v0: cannot read the Minari dataset'):
    minari_datasets.task('minari:test/hopper/nometa-v0')
  # An environment id gymnasium does not know.
  unknown = minari_dir / 'test' / 'hopper' / 'unknown-v0'
  shutil.copytree(minari_dir / 'test' / 'hopper' / 'random-v0', unknown)
  with open(unknown / 'data' / 'metadata.json') as f:
    metadata = json.load(f)
  metadata['env_spec'] = metadata['env_spec'].replace('Hopper-v5', 'NoSuchHopper-v9')
  with open(unknown / 'data' / 'metadata.json', 'w') as f:
    json.dump(metadata, f)
  with pytest.raises(datasets.DataError, match="environment 'NoSuchHopper-v9' is not registered"):
    minari_datasets.task('minari:test/hopper/unknown-v0')
