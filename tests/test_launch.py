"""Each launch script end to end at its quick scale, shrunk further with --override."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np

from rl_repr_trail import parity
from rl_repr_trail.data import datasets
from rl_repr_trail.datagen import generate
from rl_repr_trail.envs import tasks
from rl_repr_trail.experiment import run_config


ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY_SETTINGS = {'pretrain_steps': 40, 'downstream_steps': 40, 'eval_interval': 20,
                 'eval_episodes': 1, 'log_interval': 20, 'checkpoint_interval': 20,
                 'hidden': [32, 32], 'embed_dim': 16, 'batch_size': 32}


def _launch(script, tmp_path, override, *args):
  env = dict(os.environ, PYTHON=sys.executable, TRAIL_DATA_DIR=str(tmp_path / 'data'))
  root = tmp_path / 'runs'
  result = subprocess.run(
      ['bash', str(ROOT / 'launch' / script), *args, f'--root={root}',
       f'--override={json.dumps(override)}'],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return root, result.stdout


def test_locomotion_quick(tmp_path):
  # Two runs: one round of the two parallel processes.
  override = {'methods': ['opal', 'trail_ebm'], 'offline_kinds': ['random'], 'seeds': [0],
              'expert_sizes': [500], 'data': {'offline_rows': 3000, 'expert_rows': 1500},
              'settings': dict(TINY_SETTINGS, window=4)}
  root, out = _launch('locomotion.sh', tmp_path, override, 'quick')
  assert '2 runs in' in out
  assert '| hopper | random (gen) | ' in out and '| OPAL | TRAIL EBM |' in out
  assert (root / 'summary.md').exists()
  assert sorted(os.listdir(root / 'plots')) == [
      'aggregates_expert500.png', 'bars_expert500_best.png', 'bars_expert500_final.png',
      'curves_hopper_random_gen_expert500.png']


def test_claims_reduced(tmp_path):
  override = {'methods': ['bc', 'trail_ebm'], 'offline_kinds': ['random'], 'seeds': [0],
              'expert_sizes': [500], 'data': {'offline_rows': 3000, 'expert_rows': 1500},
              'settings': TINY_SETTINGS}
  root, out = _launch('claims.sh', tmp_path, override, 'reduced')
  assert '2 runs in' in out
  assert '| hopper | random (gen) | ' in out and '- TRAIL beats BC: ' in out
  assert (root / 'claims.md').exists() and (root / 'summary.md').exists()


def test_default_candidates_runs_the_paper_settings_and_without_the_entropy_term(tmp_path):
  config = json.loads((ROOT / 'launch' / 'configs' / 'default_candidates.json').read_text())
  assert config['methods'] == ['bc', 'trail_ebm'] and config['tasks'] == ['ant']
  # One BC run per variant (the pipeline is the same for TRAIL, which other tests run).
  override = {'methods': ['bc'], 'offline_kinds': ['random'], 'seeds': [0],
              'expert_sizes': [500], 'data': {'offline_rows': 3000, 'expert_rows': 1500},
              'settings': TINY_SETTINGS, 'tasks': ['hopper']}
  root, out = _launch('default_candidates.sh', tmp_path, override)
  for variant, entropy_term in (('entropy', True), ('noentropy', False)):
    assert (root / variant / 'claims.md').exists() and (root / variant / 'summary.md').exists()
    with open(root / variant / 'hopper' / 'none' / 'expert500' / 'bc' / 'seed0' /
              'config.json') as f:
      saved = run_config.from_saved(json.load(f)).flags()
    assert saved['entropy_term'] is entropy_term and saved['downstream_steps'] == 40
  assert out.count('- TRAIL beats BC: ') == 2


def test_parity_section10(tmp_path):
  # One seed (the verdict with several is test_parity_verdict_is_a_two_std_band_for_one_draw's).
  override = {'tasks': ['hopper'], 'seeds': [0], 'expert_sizes': [500],
              'data': {'offline_rows': 3000, 'expert_rows': 1500}, 'settings': TINY_SETTINGS}
  root, out = _launch('parity.sh', tmp_path, override)
  assert '2 runs in' in out
  table = (root / 'parity.md').read_text()
  for method, original in (('TRAIL EBM', '18.7'), ('BC', '98.7')):
    row = next(line for line in table.splitlines() if f'| {method} |' in line)
    assert row.startswith(f'| hopper | medium (gen) | 500 | {method} | {original} | ') and (
        '(1) |' in row and 'one seed: noise unknown |' in row), row
  assert 'ant' not in table  # Only configurations that ran are listed.


def test_parity_verdict_is_a_two_std_band_for_one_draw():
  scores = np.array([10.0, 12.0, 14.0])  # std 2: the band is 2 * 2 * sqrt(4/3) = 4.62.
  assert parity.verdict(16.5, scores) == 'within seed noise'
  assert parity.verdict(7.5, scores) == 'within seed noise'
  assert parity.verdict(16.7, scores) == 'outside seed noise'
  assert parity.verdict(12.0, scores[:1]) == 'one seed: noise unknown'


def test_launch_script_refuses_an_unknown_scale(tmp_path):
  result = subprocess.run(['bash', str(ROOT / 'launch' / 'locomotion.sh'), 'huge'],
                          capture_output=True, text=True)
  assert result.returncode == 2
  scales = sorted(p.stem[len('locomotion_'):] for p in (ROOT / 'launch' / 'configs').glob(
      'locomotion_*.json'))  # The usage line lists the scales that have a config.
  assert {'antkey', 'antreduced', 'paper', 'quick'} <= set(scales)
  assert f'usage: launch/locomotion.sh [{"|".join(scales)}]' in result.stderr


def _write_antmaze_files(directory):
  """D4RL-format antmaze files (random actions in the task's maze), under D4RL's names."""
  task = tasks.get_task('antmaze_umaze')
  for i, name in enumerate(('antmaze-umaze-v2', 'antmaze-umaze-diverse-v2')):
    arrays = generate.rollout(task, None, 1400, seed=i, num_envs=2)
    datasets.write_hdf5(str(directory / datasets.d4rl_file_name(name)), arrays, {'task': task.name})


def test_antmaze_names_every_missing_file(tmp_path):
  env = dict(os.environ, PYTHON=sys.executable, D4RL_DATASET_DIR=str(tmp_path))
  result = subprocess.run(['bash', str(ROOT / 'launch' / 'antmaze.sh'), 'quick',
                           f'--root={tmp_path / "runs"}'], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 2
  for name in ('Ant_maze_u-maze_noisy_multistart_False_multigoal_False_sparse_fixed.hdf5',
               'Ant_maze_u-maze_noisy_multistart_True_multigoal_True_sparse_fixed.hdf5'):
    assert str(tmp_path / name) in result.stderr
  assert not (tmp_path / 'runs').exists() or not any((tmp_path / 'runs').rglob('config.json'))


def test_antmaze_quick_on_d4rl_format_files(tmp_path, monkeypatch):
  (tmp_path / 'd4rl').mkdir()
  _write_antmaze_files(tmp_path / 'd4rl')
  monkeypatch.setenv('D4RL_DATASET_DIR', str(tmp_path / 'd4rl'))
  override = {'methods': ['trail_ebm'], 'seeds': [0], 'expert_sizes': [500],
              'settings': dict(TINY_SETTINGS, eval_episodes=1)}
  root, out = _launch('antmaze.sh', tmp_path, override, 'quick')
  assert '2 runs in' in out
  assert '| antmaze_umaze | umaze-v2 | ' in out and '| antmaze_umaze | umaze-diverse-v2 | ' in out
  assert (root / 'summary.md').exists()


def test_dm_control_quick(tmp_path):
  override = {'methods': ['trail_ebm'], 'offline_kinds': ['medium'], 'seeds': [0],
              'expert_sizes': [500], 'data': {'offline_rows': 3000, 'expert_rows': 2000},
              'settings': TINY_SETTINGS}
  root, out = _launch('dm_control.sh', tmp_path, override, 'quick')
  assert '1 runs in' in out
  assert '| cartpole_swingup | medium (gen) | ' in out
  assert os.path.exists(root / 'plots' / 'curves_cartpole_swingup_medium_gen_expert500.png')


def _check(config, tmp_path, *args):
  env = dict(os.environ, TRAIL_DATA_DIR=str(tmp_path / 'data'),
             D4RL_DATASET_DIR=str(tmp_path / 'd4rl'))
  return subprocess.run([sys.executable, '-m', 'rl_repr_trail.sweep', str(config), '--check',
                         f'--root={tmp_path / "runs"}', *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=600, check=False)


def test_every_launch_config_passes_check_in_a_fresh_data_directory(tmp_path):
  configs = sorted((ROOT / 'launch' / 'configs').glob('*.json'))
  assert len(configs) >= 10
  for config in configs:
    result = _check(config, tmp_path)
    if config.name.startswith('antmaze_'):
      # D4RL's AntMaze files cannot be generated: each missing file is named with its place.
      assert result.returncode == 1, result.stdout
      problems = [line for line in result.stderr.splitlines() if line.startswith('problem: ')]
      assert problems and all(str(tmp_path / 'd4rl' / 'Ant_maze_') in p for p in problems)
      assert "D4RL dataset 'antmaze-umaze-v2' not found" in result.stderr
      continue
    assert result.returncode == 0, f'{config.name}: {result.stdout[-2000:]}{result.stderr[-2000:]}'
    assert result.stdout.rstrip().endswith('[check] ok.'), config.name
    assert ': to generate into ' in result.stdout, config.name
  assert not (tmp_path / 'data').exists() and not (tmp_path / 'runs').exists()


def test_check_estimates_the_time_from_timed_steps(tmp_path):
  override = {'tasks': ['hopper'], 'methods': ['bc', 'trail_ebm'], 'offline_kinds': ['medium'],
              'seeds': [0, 1], 'expert_sizes': [500], 'settings': TINY_SETTINGS}
  result = _check(ROOT / 'launch' / 'configs' / 'locomotion_quick.json', tmp_path,
                  '--estimate', f'--override={json.dumps(override)}')
  assert result.returncode == 0, result.stderr[-2000:]
  out = result.stdout
  assert '4 runs in' in out and '[check] pretraining trail_ebm: 80' in out
  assert '[check] downstream bc: 80' in out and '[check] evaluation episodes: 8' in out
  assert 'timed: hopper trail_ebm: pretraining ' in out and 'timed: hopper bc: downstream ' in out
  assert '[check] estimate: ' in out and out.rstrip().endswith('[check] ok.')
