"""Policy files: SAC export, the bundled experts, and their loader."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from rl_repr_trail import data
from rl_repr_trail import envs
from rl_repr_trail import errors
from rl_repr_trail import evaluation
from rl_repr_trail import experts
from rl_repr_trail import sac


def test_exported_sac_actor_acts_like_the_agent_greedy_policy(tmp_path):
  from tf_agents.policies import greedy_policy  # pylint: disable=g-import-not-at-top
  from tf_agents.trajectories import time_step as ts  # pylint: disable=g-import-not-at-top
  task = envs.get_task('hopper')
  agent, actor = sac.make_agent(task, sac.SacConfig(hidden=(16, 16)))
  # Move the weights away from their initial values so that the check is not trivial.
  for v in actor.trainable_variables:
    v.assign(v + tf.random.normal(v.shape, stddev=0.3, seed=1))
  policy = sac.export_actor(actor, agent.action_spec, {'task': 'hopper'})
  path = str(tmp_path / 'p.npz')
  policy.save(path)
  loaded = experts.MlpPolicy.load(path)
  obs = np.random.default_rng(0).normal(size=(5, task.obs_dim)).astype(np.float32)
  greedy = greedy_policy.GreedyPolicy(agent.policy)
  expected = greedy.action(ts.restart(tf.constant(obs), batch_size=5)).action.numpy()
  np.testing.assert_allclose(loaded(obs), expected, atol=1e-5)
  assert loaded.metadata == {'task': 'hopper'}
  samples = np.stack([loaded.sample(obs, np.random.default_rng(i)) for i in range(200)])
  assert np.all(samples >= -1) and np.all(samples <= 1)
  assert samples.std(axis=0).mean() > 1e-3


def test_policy_file_errors(tmp_path, monkeypatch):
  with pytest.raises(FileNotFoundError, match='does not exist'):
    experts.MlpPolicy.load(str(tmp_path / 'none.npz'))
  np.savez(tmp_path / 'other.npz', x=np.zeros(3))
  with pytest.raises(ValueError, match='is not a policy file'):
    experts.MlpPolicy.load(str(tmp_path / 'other.npz'))
  monkeypatch.setattr(experts, 'POLICY_DIR', str(tmp_path))
  with pytest.raises(FileNotFoundError, match="No bundled expert policy for 'walker2d'.*"
                     "Bundled: none.*train_expert --env=walker2d"):
    experts.load_bundled('walker2d', 'expert')


def test_hopper_policies_are_bundled():
  assert ('hopper', 'expert') in experts.available_policies()
  assert ('hopper', 'medium') in experts.available_policies()


@pytest.mark.parametrize('task_name,level', experts.available_policies())
def test_bundled_policy_is_trained(task_name, level):
  task = envs.get_task(task_name)
  policy = experts.load_bundled(task_name, level)
  assert (policy.obs_dim, policy.action_dim) == (task.obs_dim, task.action_dim)
  returns = evaluation.run_episodes(policy, task, num_episodes=3, seed=123)
  random_returns = evaluation.run_episodes(
      lambda obs: np.random.default_rng(0).uniform(-1, 1, (len(obs), task.action_dim)),
      task, num_episodes=3, seed=123)
  # A uniform random policy scores about 1 (hopper); a trained medium policy far more.
  # Single episodes vary (cheetah_run medium: 101-410 over 10 episodes), and which
  # episode a seed gives depends on the CPU's floating-point kernels: compare means.
  floor = envs.normalized_score(task, random_returns.mean()) + 10.0
  assert envs.normalized_score(task, returns.mean()) > floor, (returns, random_returns)


def test_pick_policies_takes_best_as_expert_and_a_third_before_it_as_medium(tmp_path):
  snapshots = tmp_path / 'snapshots'
  snapshots.mkdir()
  returns = {10: 100.0, 20: 900.0, 30: 1200.0, 40: 3000.0, 50: 2500.0, 60: 950.0}
  with open(tmp_path / 'evals.jsonl', 'w') as f:
    for step, ret in returns.items():
      f.write(json.dumps({'step': step, 'return_mean': ret}) + '\n')
      experts.MlpPolicy([np.zeros((2, 2))], [np.zeros(2)], -np.ones(1), np.ones(1),
                        {'step': step}).save(str(snapshots / f'step_{step:09d}.npz'))
  picked = sac.pick_policies(str(tmp_path))
  assert picked['expert'].metadata['step'] == 40
  # A third of 3000 is 1000: 900 (step 20) is closest among steps before 40; the later
  # snapshot at 950 does not count.
  assert picked['medium'].metadata['step'] == 20
  with pytest.raises(FileNotFoundError, match='No evaluated snapshots'):
    sac.pick_policies(str(tmp_path / 'empty'))


def test_sac_training_resumes_with_its_replay(tmp_path, capsys):
  task = envs.get_task('hopper')
  config = sac.SacConfig(total_steps=400, initial_random_steps=130, batch_size=32,
                         hidden=(16, 16), eval_every=200, eval_episodes=1)
  sac.train(task, str(tmp_path), config)
  config.total_steps = 600
  sac.train(task, str(tmp_path), config)
  assert 'Resuming SAC on hopper from step 400.' in capsys.readouterr().out
  evals = evaluation.read_evals(str(tmp_path / 'evals.jsonl'))
  assert [e['step'] for e in evals] == [200, 400, 600]
  replay = sac.load_replay(str(tmp_path), 600)
  assert len(replay['rewards']) == 600
  # Within an episode each next observation is the following row's observation, but at
  # the resume (row 399) the environment was reset: readers must see an episode end there.
  cont = ~(replay['terminals'] | replay['timeouts'])[:-1]
  cont[399] = False
  np.testing.assert_array_equal(replay['next_observations'][:-1][cont],
                                replay['observations'][1:][cont])
  dataset = data.from_arrays(replay['observations'], replay['actions'], replay['terminals'],
                             replay['timeouts'], replay['next_observations'])
  assert dataset.episode_end[399] and 399 not in dataset.window_starts(2)
  assert (tmp_path / 'snapshots' / 'step_000000600.npz').exists()
  # One update per step past the random ones, made in blocks of update_every, across
  # the resume.
  agent, _ = sac.make_agent(task, config)
  checkpoint = tf.train.Checkpoint(agent=agent)
  checkpoint.restore(tf.train.latest_checkpoint(str(tmp_path / 'ckpt'))).expect_partial()
  assert int(agent.train_step_counter.numpy()) == 600 - 130


def test_sac_block_size_must_divide_the_evaluation_interval(tmp_path):
  config = sac.SacConfig(total_steps=100, eval_every=75, update_every=50)
  with pytest.raises(errors.InputError, match='--eval_every=75 must be a multiple of '
                     '--update_every=50'):
    sac.train(envs.get_task('hopper'), str(tmp_path), config)
  assert not os.listdir(tmp_path)


def test_sac_training_prints_no_warnings_of_its_dependencies(tmp_path):
  # tf-agents imports the old gym, which prints an "unmaintained" notice on import (this
  # project uses gymnasium only), and its code converted by autograph makes Python warn
  # of `is` comparisons with literals: a user of collect train_expert should see neither.
  script = ('import sys; from rl_repr_trail import envs, sac; sac.train(envs.get_task("hopper"), '
            'sys.argv[1], sac.SacConfig(total_steps=40, initial_random_steps=20, batch_size=8, '
            'hidden=(4,), eval_every=40, update_every=20, eval_episodes=1))')
  result = subprocess.run([sys.executable, '-c', script, str(tmp_path)],
                          capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert (tmp_path / 'evals.jsonl').exists()
  assert 'Gym has been unmaintained' not in result.stderr
  assert 'SyntaxWarning' not in result.stderr, result.stderr[-2000:]
