"""Tasks: the DeepMind Control Suite through shimmy, flattened, as D4RL-format data."""

import numpy as np
import pytest

from rl_repr_trail import data
from rl_repr_trail import envs
from rl_repr_trail import generate


@pytest.mark.parametrize('name', sorted(envs.DM_CONTROL))
def test_dm_control_tasks_have_their_declared_dims(name):
  task = envs.get_task(name)
  env = envs.make_env(task, seed=0)
  obs, _ = env.reset(seed=0)
  assert obs.shape == (task.obs_dim,) and env.action_space.shape == (task.action_dim,)
  obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
  assert obs.shape == (task.obs_dim,) and 0.0 <= reward <= 1.0 and not terminated
  qpos, qvel = envs.physics_state(env)
  assert qpos.ndim == 1 and qvel.ndim == 1 and len(qpos) > 0
  env.close()


def test_dm_control_rollout_is_d4rl_format_with_timeouts_at_1000(tmp_path):
  task = envs.get_task('cartpole_swingup')
  arrays = generate.rollout(task, None, 2000, seed=0, num_envs=2)
  assert np.flatnonzero(arrays['timeouts']).tolist() == [999, 1999]
  assert not arrays['terminals'].any()
  assert arrays['infos/qpos'].shape == (2000, 2)
  path = str(tmp_path / 'cartpole.hdf5')
  data.write_hdf5(path, arrays, {'task': task.name})
  dataset = data.load(path)
  assert dataset.num_transitions == 2000 - 2  # A timed-out episode's last row is no transition.
  assert envs.task_for_dataset('gen:cartpole_swingup-random-2000') is task


def test_dm_control_normalized_score_is_return_over_10():
  task = envs.get_task('walker_walk')
  assert envs.normalized_score(task, 1000.0) == 100.0
  assert envs.normalized_score(task, 250.0) == 25.0
