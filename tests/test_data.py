"""D4RL-format reading and writing, episode structure, windows and the expert subset."""

import dataclasses
import json

import h5py
import numpy as np
import pytest

from rl_repr_trail.core import errors
from rl_repr_trail.data import datasets
from rl_repr_trail.data import names


def _episodes(lengths, ends, obs_dim=2, with_next=True):
  """Rows of consecutive episodes; observation = (episode, step); `ends` in {'terminal', 'timeout', None}."""
  obs, nxt, term, tout = [], [], [], []
  for e, (n, end) in enumerate(zip(lengths, ends)):
    for t in range(n):
      obs.append([e, t] + [0] * (obs_dim - 2))
      nxt.append([e, t + 1] + [0] * (obs_dim - 2))
      term.append(end == 'terminal' and t == n - 1)
      tout.append(end == 'timeout' and t == n - 1)
  arrays = dict(observations=np.array(obs, np.float32), actions=np.zeros((len(obs), 1), np.float32),
                terminals=np.array(term), timeouts=np.array(tout))
  if with_next:
    arrays['next_observations'] = np.array(nxt, np.float32)
  return arrays


def _pairs(dataset):
  rows = dataset.transition_rows()
  return [(tuple(dataset.observations[r]), tuple(dataset.observations[dataset.next_row[r]]))
          for r in rows]


def test_next_observation_is_the_true_successor():
  arrays = _episodes([3, 2, 4], ['timeout', 'terminal', None])
  ds = datasets.from_arrays(**arrays)
  for s, s2 in _pairs(ds):
    assert s2 == (s[0], s[1] + 1), (s, s2)
  # The timed-out episode's last step is no transition, D4RL's convention; the
  # terminal step is one (its next observation comes from next_observations).
  assert ds.num_transitions == 9 - 1


def test_without_next_observations_terminal_and_last_rows_are_dropped():
  arrays = _episodes([3, 2, 4], ['timeout', 'terminal', None], with_next=False)
  ds = datasets.from_arrays(**arrays)
  assert ds.num_transitions == 9 - 3
  for s, s2 in _pairs(ds):
    assert s2 == (s[0], s[1] + 1)


def test_windows_never_cross_episode_ends():
  arrays = _episodes([5, 3, 6, 2], ['timeout', 'terminal', 'timeout', None])
  ds = datasets.from_arrays(**arrays)
  for length in (1, 2, 3, 4):
    starts = ds.window_starts(length)
    for r in starts:
      episode = ds.observations[r][0]
      for k in range(length):
        s = ds.observations[r + k]
        s2 = ds.observations[ds.next_row[r + k]]
        assert s[0] == episode and s2[0] == episode and s2[1] == s[1] + 1
    # Every window that fits is found: transitions per episode are 4, 3, 5, 2.
    expected = sum(max(0, n - length + 1) for n in (4, 3, 5, 2))
    assert len(starts) == expected, (length, starts)


def test_first_transitions_is_a_prefix():
  arrays = _episodes([3, 4], ['timeout', 'timeout'])
  ds = datasets.from_arrays(**arrays)
  sub = ds.first_transitions(4)
  assert sub.num_transitions == 4
  assert _pairs(sub) == _pairs(ds)[:4]
  with pytest.raises(datasets.DataError, match='only 5'):
    ds.first_transitions(6)


def test_write_then_read_roundtrip(tmp_path):
  arrays = _episodes([3, 4], ['terminal', 'timeout'])
  arrays['rewards'] = np.arange(7, dtype=np.float32)
  path = str(tmp_path / 'x.hdf5')
  datasets.write_hdf5(path, arrays, {'task': 'hopper', 'seed': 3, 'policy': {'name': 'random'}})
  read = datasets.read_hdf5(path)
  for key, value in arrays.items():
    np.testing.assert_array_equal(read[key], value)
  meta = datasets.read_metadata(path)
  assert meta['task'] == 'hopper' and meta['seed'] == 3 and '"random"' in meta['policy']
  del arrays['rewards']
  assert _pairs(datasets.load(path)) == _pairs(datasets.from_arrays(**arrays))


@pytest.mark.parametrize('name, source, task, kind, version, rows, label', [
    ('hopper-medium-v2', 'd4rl', 'hopper', 'medium', 2, None, 'medium-v2'),
    ('halfcheetah-medium-replay-v0', 'd4rl', 'halfcheetah', 'medium-replay', 0, None,
     'medium-replay-v0'),
    ('antmaze-umaze-diverse-v2', 'd4rl', 'antmaze_umaze', 'umaze-diverse', 2, None,
     'umaze-diverse-v2'),
    ('gen:ant-medium-replay-5000', 'generated', 'ant', 'medium-replay', None, 5000,
     'medium-replay (gen)'),
    ('gen:cartpole_swingup-random', 'generated', 'cartpole_swingup', 'random', None, None,
     'random (gen)'),
    ('minari:mujoco/hopper/expert-v0', 'minari', None, None, None, None, 'expert-v0'),
    ('/data/walker.hdf5', 'file', None, None, None, None, 'walker'),
    ('memory:expert_data-0123', 'memory', None, None, None, None, 'memory:expert_data-0123'),
    ('hopper-medium', 'unknown', None, None, None, None, 'hopper-medium'),
])
def test_one_parser_reads_every_kind_of_dataset_name(name, source, task, kind, version, rows,
                                                       label):
  parsed = names.parse(name)
  assert (parsed.source, parsed.task, parsed.kind, parsed.version, parsed.rows) == (
      source, task, kind, version, rows)
  assert names.label(name) == label and names.label(None) == 'none'
  if task:
    assert names.task(name).name == task
  else:
    with pytest.raises(errors.InputError, match='Unknown dataset name'):
      names.task(name)
  if kind:
    assert names.kind_of_label(label) == kind
  assert names.generated('ant', 'medium-replay', 5000) == 'gen:ant-medium-replay-5000'


def test_d4rl_names_map_to_download_file_names(tmp_path, monkeypatch):
  assert datasets.d4rl_file_name('hopper-medium-v2') == 'hopper_medium-v2.hdf5'
  assert datasets.d4rl_file_name('ant-medium-replay-v2') == 'ant_medium_replay-v2.hdf5'
  assert datasets.d4rl_file_name('halfcheetah-medium-replay-v0') == 'halfcheetah_mixed.hdf5'
  assert datasets.d4rl_file_name('ant-random-v0') == 'ant_random.hdf5'
  monkeypatch.setenv('D4RL_DATASET_DIR', str(tmp_path))
  with pytest.raises(datasets.DataError, match='hopper_medium-v2.hdf5'):
    datasets.resolve_path('hopper-medium-v2')
  datasets.write_hdf5(str(tmp_path / 'hopper_medium-v2.hdf5'), _episodes([2], ['timeout']))
  assert datasets.load('hopper-medium-v2').num_transitions == 1


def test_bad_files_have_clear_errors(tmp_path):
  with pytest.raises(datasets.DataError, match='does not exist'):
    datasets.load(str(tmp_path / 'missing.hdf5'))
  path = str(tmp_path / 'nokey.hdf5')
  with h5py.File(path, 'w') as f:
    f['observations'] = np.zeros((3, 2))
    f['actions'] = np.zeros((3, 1))
  with pytest.raises(datasets.DataError, match="nokey.hdf5 lacks the key.*terminals"):
    datasets.load(path)
  arrays = _episodes([4], ['timeout'])
  arrays['actions'][2, 0] = np.nan
  path = str(tmp_path / 'nan.hdf5')
  datasets.write_hdf5(path, arrays)
  with pytest.raises(datasets.DataError, match="nan.hdf5: key 'actions' holds NaN or inf .*row 2"):
    datasets.load(path)
  path = str(tmp_path / 'short.hdf5')
  arrays = _episodes([4], ['timeout'])
  arrays['terminals'] = arrays['terminals'][:3]
  datasets.write_hdf5(path, arrays)
  with pytest.raises(datasets.DataError, match="'terminals' has 3 rows"):
    datasets.load(path)
  (tmp_path / 'text.hdf5').write_text('not hdf5')
  with pytest.raises(datasets.DataError, match='not a readable HDF5'):
    datasets.load(str(tmp_path / 'text.hdf5'))


def test_interrupted_write_leaves_no_file(tmp_path):
  path = str(tmp_path / 'out.hdf5')
  arrays = _episodes([3], ['timeout'])
  arrays['bad'] = np.array([object()], dtype=object)  # h5py cannot store it: fails midway.
  with pytest.raises(TypeError):
    datasets.write_hdf5(path, arrays)
  assert list(tmp_path.iterdir()) == []


def test_ant_contact_forces_are_zeroed_when_the_data_has_none():
  from rl_repr_trail.envs import evaluation, tasks  # pylint: disable=g-import-not-at-top
  ant = tasks.get_task('ant')
  obs = np.ones((4, 111), np.float32)
  obs[:, 27:] = 0.0
  ds = datasets.from_arrays(obs, np.zeros((4, 8), np.float32), np.zeros(4, bool))
  assert ds.contact_dims_all_zero(ant.contact_dims)
  obs[1, 50] = 0.5
  assert not datasets.from_arrays(obs, np.zeros((4, 8)), np.zeros(4, bool)).contact_dims_all_zero(
      ant.contact_dims)
  seen = []

  def policy(batch):
    seen.append(batch.copy())
    return np.zeros((len(batch), 8), np.float32)

  # The ant task computes no contact forces, as D4RL's data was made; a variant that
  # does (Ant-v4's own 111 dims) has them zeroed for a policy trained on such data.
  for task, real_forces in ((ant, False), (dataclasses.replace(
      ant, env_kwargs=(('use_contact_forces', True),), zero_contact_forces=False), True)):
    env = tasks.make_env(task, seed=0)
    raw = env.reset(seed=0)[0]
    for _ in range(30):
      raw = env.step(np.zeros(8))[0]
    assert raw.shape == (111,) and np.any(raw[27:] != 0) == real_forces
  evaluation.run_episodes(policy, task, num_episodes=1, seed=0, zero_contact_forces=True)
  seen = np.concatenate(seen)
  assert seen.shape[1] == 111 and not np.any(seen[:, 27:]) and np.any(seen[:, :27])


@pytest.mark.parametrize('with_next', [True, False])
def test_streamed_load_equals_in_memory_build(tmp_path, monkeypatch, with_next):
  monkeypatch.setattr(datasets, '_CHUNK_ROWS', 3)  # Chunk edges fall inside episodes.
  arrays = _episodes([4, 3, 5, 2], ['terminal', 'timeout', None, None], with_next=with_next)
  if with_next:  # A cut between two concatenated parts, as in medium-expert files.
    arrays['next_observations'][8] += 100.0
  path = str(tmp_path / 'x.hdf5')
  datasets.write_hdf5(path, arrays)
  streamed, built = datasets.load(path), datasets.from_arrays(**arrays)
  np.testing.assert_array_equal(streamed.observations, built.observations)
  np.testing.assert_array_equal(streamed.next_row, built.next_row)
  np.testing.assert_array_equal(streamed.episode_end, built.episode_end)
  assert streamed.observations.ctypes.data % 64 == 0
  if with_next:
    assert streamed.episode_end[8] and streamed.next_row[8] >= 14


def test_an_evaluation_record_cut_short_by_a_kill_is_skipped(tmp_path):
  from rl_repr_trail.envs import evaluation  # pylint: disable=g-import-not-at-top
  path = tmp_path / 'evals.jsonl'
  path.write_text('{"step": 10, "return_mean": 1.0}\n{"step": 20, "return_mean": 2.0}\n'
                  '{"step": 30, "retu')
  assert [e['step'] for e in evaluation.read_evals(str(path))] == [10, 20]
  path.write_text('{"step": 10, "retu\n{"step": 20, "return_mean": 2.0}\n')
  with pytest.raises(json.JSONDecodeError):  # Damage before the last line is not a kill's.
    evaluation.read_evals(str(path))
