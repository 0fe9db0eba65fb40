"""The method registry: every list of methods comes from it, and a seventh method is one
folder (tests/toy_method/) named by its import path, and one test."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from rl_repr_trail import Agent
from rl_repr_trail import claims
from rl_repr_trail import summarize
from rl_repr_trail.core import optim
from rl_repr_trail.core import specs
from rl_repr_trail.experiment import run_config
from rl_repr_trail.methods import registry

TESTS = os.path.dirname(os.path.abspath(__file__))  # On the path of the tests (pytest's).


def test_the_registry_names_the_six_methods_in_the_papers_column_order():
  assert registry.names() == ('bc', 'opal', 'spirl', 'skild', 'trail_ebm', 'trail_linear')
  assert registry.labels() == ('BC', 'OPAL', 'SPiRL', 'SkiLD', 'TRAIL EBM', 'TRAIL linear')
  assert registry.labels('trail') == ('TRAIL EBM', 'TRAIL linear')
  assert registry.labels('skill') == ('OPAL', 'SPiRL', 'SkiLD')
  assert registry.baseline_label() == 'BC' and not registry.get('bc').pretrains
  assert registry.embed_learners() == ('none', 'opal', 'spirl', 'skild', 'trail_ebm',
                                       'trail_linear')
  assert registry.downstreams() == ('bc', 'latent_bc')
  for method in registry.METHODS.values():
    assert registry.from_flags(method.embed_learner, method.downstream) is method
    config = run_config.RunConfig(method=method.name)
    assert config.label == method.label and config.spec.name == method.name
  assert run_config.RunConfig().spec.name == 'trail_ebm'
  with pytest.raises(KeyError, match="not a method: expected one of"):
    registry.get('gail')
  with pytest.raises(ValueError, match='exists'):
    registry.register(registry.get('bc'))


def _held_variables(items: dict) -> set:
  found = set()
  for item in items.values():
    variables = [item] if isinstance(item, tf.Variable) else item.variables
    found |= {v.ref() for v in (variables() if callable(variables) else variables)}
  return found


@pytest.mark.parametrize('name', ['bc', 'opal', 'spirl', 'skild', 'trail_ebm', 'trail_linear'])
def test_each_learner_says_what_its_checkpoint_holds(name):
  """Built from an environment spec and its own configs alone; its checkpoint holds every
  variable it has, and its optimizers are the ones it trains with."""
  method = registry.get(name)
  config = run_config.from_settings({'method': name, 'hidden': (8,), 'embed_dim': 4,
                                     'fourier_dim': 4, 'encoder_units': 4, 'window': 2})
  spec = specs.EnvSpec(3, -np.ones(2, np.float32), np.ones(2, np.float32))
  embedding = (method.make_embedding(spec, config.embedding, 0) if method.pretrains else None)
  learner = method.make_downstream(spec, config.downstream, embedding, 0)
  for built in filter(None, (embedding, learner)):
    held = _held_variables(built.checkpointed())
    assert {v.ref() for v in built.variables} <= held, name
    assert built.optimizer in built.optimizers()
    assert all(isinstance(o, optim.Adam) for o in built.optimizers())


def test_a_method_is_named_by_import_path_and_registered_under_it():
  method = registry.get('toy_method.METHOD')
  try:
    assert method.name == 'toy_method.METHOD' and method.label == 'Action latent'
    assert registry.names()[-1] == 'toy_method.METHOD'  # After the paper's families.
    config = run_config.from_settings({'method': 'toy_method.METHOD'})
    assert type(config.embedding).__name__ == 'ToyConfig' and config.spec is method
  finally:
    del registry.METHODS['toy_method.METHOD']
  with pytest.raises(KeyError, match='cannot import no_such_module'):
    registry.get('no_such_module.METHOD')
  with pytest.raises(KeyError, match='toy_method has no Method named OTHER'):
    registry.get('toy_method.OTHER')
  with pytest.raises(run_config.ConfigError, match='--method=toy_method.OTHER: '):
    run_config.from_settings({'method': 'toy_method.OTHER'})


def test_a_method_outside_the_package_runs_through_a_sweep_and_loads_as_an_agent(
    hopper_files, tmp_path):
  """tests/toy_method/ is all the method is: the sweep (a process) starts train_eval
  (another) with --method=toy_method.METHOD, found on PYTHONPATH."""
  config = {'tasks': ['hopper'], 'methods': ['bc', 'toy_method.METHOD'],
            'expert_sizes': [500], 'seeds': [0],
            'datasets': {'hopper': {'offline': {'random': hopper_files['offline']},
                                    'expert': hopper_files['expert']}},
            'settings': {'pretrain_steps': 40, 'downstream_steps': 40, 'eval_interval': 40,
                         'eval_episodes': 1, 'log_interval': 20, 'checkpoint_interval': 40,
                         'hidden': [16, 16], 'batch_size': 32}}
  path = tmp_path / 'grid.json'
  path.write_text(json.dumps(config))
  root = tmp_path / 'runs'
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      [TESTS, os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep))
  proc = subprocess.run([sys.executable, '-m', 'rl_repr_trail.sweep', str(path),
                         f'--root={root}'], capture_output=True, text=True, timeout=600,
                        env=env, cwd=tmp_path, check=False)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  run_dir = root / 'hopper' / 'random' / 'expert500' / 'toy_method.METHOD' / 'seed0'
  results = json.loads((run_dir / 'results.json').read_text())
  assert results['method'] == 'Action latent' and results['pretrain_steps'] == 40
  assert (run_dir / 'pretrain').is_dir() and results['final']['step'] == 40
  # Summarize and claims show it after the registry's others (this process imports it
  # through the run's config.json).
  try:
    agent = Agent.load(str(run_dir))
    assert agent.config.spec.label == 'Action latent'
    agent.reset([0, 1, 2])
    actions = np.asarray(agent.act(np.zeros((3, agent.task.obs_dim))))
    assert actions.shape == (3, agent.task.action_dim)
    transitions = np.ones((2, agent.task.action_dim), np.float32) * 0.5
    np.testing.assert_array_equal(agent.embed(np.zeros((2, agent.task.obs_dim)), transitions),
                                  transitions)
  finally:
    registry.METHODS.pop('toy_method.METHOD', None)
  tables = summarize.group(summarize.read_runs(str(root)))
  assert summarize.methods_of(tables[500]) == ['BC', 'Action latent']
  text, verdicts = claims.report(tables)
  assert '| task | offline data | BC | Action latent |' in text
  assert verdicts['trail_beats_bc'] == []  # Not of the TRAIL family.


def test_the_binaries_that_only_read_runs_start_without_tensorflow():
  """The registry names methods and their settings without importing the learners, so
  sweep, summarize, claims and parity start in about a second, not after TensorFlow's
  import; a learner module imported at the registry's top would fail this."""
  code = ('import sys; import rl_repr_trail.sweep, rl_repr_trail.summarize, '
          'rl_repr_trail.claims, rl_repr_trail.parity; '
          'print(sorted(m for m in ("tensorflow", "tf_keras") if m in sys.modules))')
  proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                        timeout=120, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.split('\n')[-2] == '[]', proc.stdout
