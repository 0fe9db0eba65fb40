"""Tasks: the DeepMind Control Suite through shimmy, flattened, as D4RL-format data;
AntMaze in D4RL's layout; environments that stay quiet."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rl_repr_trail.data import datasets
from rl_repr_trail.data import names
from rl_repr_trail.datagen import generate
from rl_repr_trail.envs import tasks


@pytest.mark.parametrize('name', sorted(tasks.DM_CONTROL))
def test_dm_control_tasks_have_their_declared_dims(name):
  task = tasks.get_task(name)
  env = tasks.make_env(task, seed=0)
  obs, _ = env.reset(seed=0)
  assert obs.shape == (task.obs_dim,) and env.action_space.shape == (task.action_dim,)
  obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
  assert obs.shape == (task.obs_dim,) and 0.0 <= reward <= 1.0 and not terminated
  qpos, qvel = tasks.physics_state(env)
  assert qpos.ndim == 1 and qvel.ndim == 1 and len(qpos) > 0
  env.close()


def test_making_envs_prints_no_dependency_notices_and_writes_no_file(tmp_path):
  # The old gym, were it installed, prints an "unmaintained" banner on import (the stack
  # no longer has it); MuJoCo 3.17 warns of a deprecated attribute in half_cheetah.xml and
  # cheetah.xml, printing it and appending it to MUJOCO_LOG.TXT in the working directory;
  # dm_control's EGL renderer, loaded beside TensorFlow, aborts the process at exit. A
  # user sees none of it. A fresh process, as such notices print once per process.
  script = ('import tensorflow\nfrom rl_repr_trail.envs import tasks\n'
            'for name in ("halfcheetah", "cheetah_run"):\n'
            '  env = tasks.make_env(tasks.get_task(name), seed=0)\n'
            '  env.step(env.action_space.sample())\n')
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=300, check=False, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=root))
  assert result.returncode == 0, result.stderr[-2000:]
  output = result.stdout + result.stderr
  assert 'Gym has been unmaintained' not in output and 'settotalmass' not in output, output
  assert not os.listdir(tmp_path)


def test_other_mujoco_warnings_reach_stderr(capsys):
  handler = tasks._mujoco_warning  # pylint: disable=protected-access
  handler('Nan, Inf or huge value in QACC at DOF 0.')
  handler("compiler attribute 'settotalmass' is deprecated and will be removed")
  assert capsys.readouterr().err == 'MuJoCo warning: Nan, Inf or huge value in QACC at DOF 0.\n'


def test_dm_control_rollout_is_d4rl_format_with_timeouts_at_1000(tmp_path):
  task = tasks.get_task('cartpole_swingup')
  arrays = generate.rollout(task, None, 2000, seed=0, num_envs=2)
  assert np.flatnonzero(arrays['timeouts']).tolist() == [999, 1999]
  assert not arrays['terminals'].any()
  assert arrays['infos/qpos'].shape == (2000, 2)
  path = str(tmp_path / 'cartpole.hdf5')
  datasets.write_hdf5(path, arrays, {'task': task.name})
  dataset = datasets.load(path)
  assert dataset.num_transitions == 2000 - 2  # A timed-out episode's last row is no transition.
  assert names.task('gen:cartpole_swingup-random-2000') is task


def test_dm_control_normalized_score_is_return_over_10():
  task = tasks.get_task('walker_walk')
  assert tasks.normalized_score(task, 1000.0) == 100.0
  assert tasks.normalized_score(task, 250.0) == 25.0


@pytest.mark.parametrize('name,goal', [('antmaze_umaze', (0, 8)), ('antmaze_medium', (20, 20)),
                                       ('antmaze_large', (32, 24))])
def test_antmaze_is_d4rl_layout_and_frame(name, goal):
  task = tasks.get_task(name)
  env = tasks.make_env(task, seed=0)
  obs, _ = env.reset(seed=0)
  qpos, qvel = tasks.physics_state(env)
  assert obs.shape == (29,)
  np.testing.assert_allclose(obs[2:15], qpos[2:])
  np.testing.assert_allclose(obs[15:], qvel)
  assert np.all(np.abs(obs[:2]) <= 1.0)  # The start cell is the origin, as in D4RL.
  # D4RL's evaluation goal, in D4RL's frame (up to the goal noise of a quarter cell).
  inner = env.unwrapped
  start_xy = qpos[:2] - obs[:2]
  assert np.all(np.abs(inner.goal - start_xy - np.array(goal)) <= 1.0)
  env.close()


def test_antmaze_episode_ends_at_the_goal_with_return_one():
  env = tasks.make_env(tasks.get_task('antmaze_umaze'), seed=0)
  env.reset(seed=0)
  ant = env.unwrapped.ant_env
  qpos, qvel = ant.data.qpos.copy(), ant.data.qvel.copy()
  qpos[:2] = env.unwrapped.goal
  ant.set_state(qpos, qvel)
  _, reward, terminated, _, _ = env.step(np.zeros(8))
  assert terminated and reward == 1.0
  env.close()


def test_antmaze_d4rl_names_and_files():
  assert names.task('antmaze-medium-diverse-v2').name == 'antmaze_medium'
  assert datasets.d4rl_file_name('antmaze-large-play-v2') == (
      'Ant_maze_hardest-maze_noisy_multistart_True_multigoal_False_sparse_fixed.hdf5')
  assert tasks.normalized_score(tasks.get_task('antmaze_large'), 1.0) == 100.0
