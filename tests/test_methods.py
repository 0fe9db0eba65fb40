"""The method registry: every list of methods comes from it, and a seventh method is one
module (tests/toy_method.py), one registry entry and one test row."""

import json
import subprocess
import sys

import pytest

from rl_repr_trail import claims
from rl_repr_trail.experiment import run_config
from rl_repr_trail.experiment import runner
from rl_repr_trail.methods import registry
from rl_repr_trail import summarize
from rl_repr_trail import sweep


import toy_method  # tests/ is on the path of its tests (pytest prepends it).


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
  with pytest.raises(KeyError, match="'gail' is not a method"):
    registry.get('gail')
  with pytest.raises(ValueError, match='exists'):
    registry.register(registry.get('bc'))


@pytest.fixture
def toy():
  registry.register(toy_method.METHOD)
  yield toy_method.METHOD
  del registry.METHODS[toy_method.METHOD.name]


def test_a_seventh_method_runs_sweeps_and_summarizes_from_its_registry_entry(
    toy, hopper_files, tmp_path):
  save_dir = tmp_path / 'runs' / 'hopper' / 'random' / 'expert500' / toy.name / 'seed0'
  config = run_config.from_settings(dict(
      method=toy.name, expert_size=500,
      offline_data=hopper_files['offline'], expert_data=hopper_files['expert'],
      pretrain_steps=40, downstream_steps=40, eval_interval=40, eval_episodes=1,
      log_interval=20, checkpoint_interval=40, hidden=(16, 16), batch_size=32,
      save_dir=str(save_dir)))
  results = runner.run(config)
  assert results['method'] == 'Action latent' and results['pretrain_steps'] == 40
  assert (save_dir / 'pretrain').is_dir() and results['final']['step'] == 40
  # The sweep takes its name; summarize and claims show it after the registry's others.
  grid = {'tasks': ['hopper'], 'offline_kinds': ['random'], 'methods': ['bc', toy.name],
          'expert_sizes': [500], 'seeds': [0]}
  path = tmp_path / 'grid.json'
  path.write_text(json.dumps(grid))
  planned = sweep.plan(sweep.load_config(str(path)), str(tmp_path / 'planned'))
  assert [(r.method, r.offline_kind) for r in planned] == [('bc', 'none'), (toy.name, 'random')]
  assert '--method=action_latent' in sweep.command(planned[1], {})
  bc = dict(results, method='BC', offline_data=None, pretrain_steps=0)
  (tmp_path / 'runs' / 'hopper' / 'none').mkdir()
  (tmp_path / 'runs' / 'hopper' / 'none' / 'results.json').write_text(json.dumps(bc))
  tables = summarize.group(summarize.read_runs(str(tmp_path / 'runs')))
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
