"""The sweep runner (skip finished runs, resume interrupted ones) and summarize."""

import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from rl_repr_trail import claims
from rl_repr_trail import summarize
from rl_repr_trail import sweep
from rl_repr_trail.data import datasets
from rl_repr_trail.datagen import experts
from rl_repr_trail.experiment import intervals


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = {
    'tasks': ['hopper'], 'offline_kinds': ['random'], 'methods': ['trail_ebm', 'bc'],
    'expert_sizes': [500], 'seeds': [0],
    'data': {'source': 'generated', 'offline_rows': 3000, 'expert_rows': 1500},
    'settings': {'pretrain_steps': 60, 'downstream_steps': 50, 'eval_interval': 50,
                 'eval_episodes': 1, 'log_interval': 10, 'checkpoint_interval': 50,
                 'hidden': [32, 32], 'embed_dim': 16, 'batch_size': 32},
}


def _write(tmp_path, config, name='sweep.json'):
  path = tmp_path / name
  path.write_text(json.dumps(config))
  return str(path)


def test_sweep_skips_finished_runs_and_resumes_interrupted_ones(tmp_path, monkeypatch, capsys):
  monkeypatch.setenv('TRAIL_DATA_DIR', str(tmp_path / 'data'))
  root = str(tmp_path / 'runs')
  config = sweep.load_config(_write(tmp_path, TINY))
  assert sweep.sweep(config, root, parallel=2) == []
  bc_dir = os.path.join(root, 'hopper', 'none', 'expert500', 'bc', 'seed0')
  trail_dir = os.path.join(root, 'hopper', 'random', 'expert500', 'trail_ebm', 'seed0')
  # The BC run is killed after its step-50 checkpoint; both runs are then asked for 100 steps.
  os.remove(os.path.join(bc_dir, 'results.json'))
  longer = json.loads(json.dumps(TINY))
  longer['settings']['downstream_steps'] = 100
  config = sweep.load_config(_write(tmp_path, longer))
  capsys.readouterr()
  assert sweep.sweep(config, root, parallel=2) == []
  out = capsys.readouterr().out
  assert '0 finished earlier (skipped), 2 to run' in out
  assert 'none/expert500/bc/seed0: interrupted earlier, resuming' in out
  bc_log = open(os.path.join(bc_dir, 'train_eval.log')).read()
  assert '[downstream] resuming from step 50' in bc_log
  trail_log = open(os.path.join(trail_dir, 'train_eval.log')).read()
  assert '[pretrain] finished earlier at step 60: reusing it' in trail_log
  for d in (bc_dir, trail_dir):
    with open(os.path.join(d, 'results.json')) as f:
      assert json.load(f)['downstream_steps'] == 100
  stamps = {d: os.path.getmtime(os.path.join(d, 'results.json')) for d in (bc_dir, trail_dir)}
  assert sweep.sweep(config, root, parallel=2) == []
  assert '2 finished earlier (skipped), 0 to run' in capsys.readouterr().out
  assert stamps == {d: os.path.getmtime(os.path.join(d, 'results.json')) for d in stamps}
  # Finished runs made with other settings are refused, not skipped as if they were these.
  other = json.loads(json.dumps(longer))
  other['settings']['entropy_term'] = False
  with pytest.raises(sweep.SweepError, match=r"(?s)trail_ebm/seed0: \{'entropy_term': "
                     r"\(True, False\)\}.*Pass another --root"):
    sweep.sweep(sweep.load_config(_write(tmp_path, other)), root, parallel=2)
  assert stamps == {d: os.path.getmtime(os.path.join(d, 'results.json')) for d in stamps}
  # So are runs made with another learning rate.
  other = json.loads(json.dumps(longer))
  other['settings']['downstream_learning_rate'] = 3e-3
  with pytest.raises(sweep.SweepError, match=r"bc/seed0: \{'downstream_learning_rate': "
                     r"\(0.001, 0.003\)\}"):
    sweep.sweep(sweep.load_config(_write(tmp_path, other)), root, parallel=2)
  # The real runs summarize: BC fills the row of the offline data it does not read.
  text = summarize.summarize(root)
  assert '| hopper | random (gen) | ' in text and '| BC | TRAIL EBM |' in text
  assert os.path.exists(os.path.join(root, 'plots', 'bars_expert500_final.png'))


def test_latest_progress_is_the_last_progress_line_of_the_run_log(tmp_path):
  run = sweep.Run('hopper', 'random', 500, 'bc', 0, 'gen:hopper-random-1000',
                  'gen:hopper-expert-1500', str(tmp_path))
  assert sweep.latest_progress(run) == 'starting'  # No log yet.
  (tmp_path / 'train_eval.log').write_text(
      '[pretrain] 100/200 (50%) 10.0/s ETA 0m10s loss 1.0\n'
      '[pretrain] finished earlier at step 200: reusing it.\n'
      '[downstream] 40/200 (20%) 8.0/s ETA 0m20s loss 2.0\n'
      'Evaluation at step 40: normalized 12.0\n')
  assert sweep.latest_progress(run) == '[downstream] 40/200 (20%) 8.0/s ETA 0m20s loss 2.0'


@pytest.mark.parametrize('change,message', [
    ({'methods': ['trail_ebm', 'dqn']}, "method 'dqn': not a method: expected one of"),
    ({'tasks': ['pong']}, "task 'pong' is not one of"),
    ({'seed': [0]}, "unknown keys ['seed']"),
    ({'settings': {'pretrain_step': 5}}, "settings key 'pretrain_step' is not"),
    ({'settings': {'seed': 5}}, "settings key 'seed' is not"),
    ({'offline_kinds': ['mixed']}, "offline kind 'mixed' is not one of"),
    ({'expert_sizes': []}, '"expert_sizes" must be a non-empty list'),
    ({'data': {'source': 'minari'}}, "data source 'minari' is not one of"),
])
def test_bad_sweep_configs_name_the_file_and_key(tmp_path, change, message):
  path = _write(tmp_path, dict(TINY, **change))
  with pytest.raises(sweep.SweepError, match='sweep.json') as error:
    sweep.load_config(path)
  assert message in str(error.value)


def test_d4rl_source_names_the_missing_file(tmp_path, monkeypatch):
  monkeypatch.setenv('D4RL_DATASET_DIR', str(tmp_path))
  config = sweep.load_config(_write(tmp_path, dict(TINY, data={'source': 'd4rl'})))
  with pytest.raises(datasets.DataError, match='hopper_expert-v2.hdf5'):
    sweep.plan(config, str(tmp_path / 'runs'))


def test_missing_generation_inputs_are_all_named_before_anything_is_generated(
    tmp_path, monkeypatch):
  monkeypatch.setenv('TRAIL_DATA_DIR', str(tmp_path / 'data'))
  monkeypatch.setenv('TRAIL_EXPERT_DIR', str(tmp_path / 'experts'))
  # Only hopper's policies are bundled in this test.
  policies = tmp_path / 'policies'
  policies.mkdir()
  for level in ('expert', 'medium'):
    shutil.copy(os.path.join(experts.POLICY_DIR, f'hopper_{level}.npz'), policies)
  monkeypatch.setattr(experts, 'POLICY_DIR', str(policies))
  grid = dict(TINY, tasks=['hopper', 'walker2d'], offline_kinds=['random', 'medium-replay'])
  config = sweep.load_config(_write(tmp_path, grid))
  with pytest.raises(sweep.SweepError) as error:
    sweep.sweep(config, str(tmp_path / 'runs'), parallel=1)
  message = str(error.value)
  assert "No bundled expert policy for 'walker2d'" in message
  assert "No medium-replay bundle for 'hopper'" in message
  assert not os.path.exists(tmp_path / 'data')  # hopper's random data was not made first.


def test_a_grid_makes_a_run_directory_per_value_named_in_labels_and_summaries(
    tmp_path, monkeypatch):
  monkeypatch.setenv('TRAIL_DATA_DIR', str(tmp_path / 'data'))
  grid = dict(TINY, methods=['bc'], grid={'downstream_learning_rate': [1e-3, 3e-3]})
  config = sweep.load_config(_write(tmp_path, grid))
  root = tmp_path / 'runs'
  runs = sweep.plan(config, str(root))
  assert [r.label for r in runs] == [
      'hopper/none/expert500/bc/downstream_learning_rate=0.001/seed0',
      'hopper/none/expert500/bc/downstream_learning_rate=0.003/seed0']
  assert '--downstream_learning_rate=0.003' in sweep.command(runs[1], config['settings'])
  assert sweep.sweep(config, str(root), parallel=2) == []
  for run, rate in zip(runs, (1e-3, 3e-3)):
    saved = json.loads((root / run.label / 'config.json').read_text())
    assert saved['downstream']['learning_rate'] == rate
  text = summarize.summarize(str(root))
  assert ('| BC (downstream_learning_rate=0.001) | BC (downstream_learning_rate=0.003) |'
          in text), text
  # The root in TensorBoard: each run in the HParams dashboard with its settings and
  # result metrics, read as TensorBoard reads them; the summary as text beside them.
  from tensorboard.backend.event_processing import plugin_event_multiplexer  # pylint: disable=g-import-not-at-top
  from tensorboard.plugins.hparams import metadata  # pylint: disable=g-import-not-at-top
  multiplexer = plugin_event_multiplexer.EventMultiplexer()
  multiplexer.AddRunsFromDirectory(str(root))
  multiplexer.Reload()
  sessions = {run: metadata.parse_session_start_info_plugin_data(content['_hparams_/session_start_info'])
              for run, content in multiplexer.PluginRunToTagToContent('hparams').items()}
  assert sorted(sessions) == [f'{r.label}/tb' for r in runs]
  for run, rate in zip(runs, (1e-3, 3e-3)):
    hparams = sessions[f'{run.label}/tb'].hparams
    assert hparams['method'].string_value == 'BC' and hparams['seed'].number_value == 0
    assert hparams['downstream_learning_rate'].number_value == pytest.approx(rate)
    assert hparams['task'].string_value == 'hopper' and hparams['expert_size'].number_value == 500
    tags = multiplexer.GetAccumulator(f'{run.label}/tb').Tags()['tensors']
    assert {'results/final_normalized_score', 'results/best_normalized_score',
            'results/wall_time_s'} <= set(tags)
  summary_text = multiplexer.PluginRunToTagToContent('text')
  assert list(summary_text) == [summarize.TENSORBOARD_DIR]
  tensor = multiplexer.Tensors(summarize.TENSORBOARD_DIR, 'summary')[0].tensor_proto
  assert 'BC (downstream_learning_rate=0.003)' in tensor.string_val[0].decode()
  # A rerun skips both; a grid key also in settings, or an empty one, is refused.
  assert all(sweep.finished(r, config['settings']) for r in runs)
  for bad, message in (({'grid': {'seed': [1]}}, "grid key 'seed'"),
                       ({'grid': {'hidden': []}}, '"grid"/hidden must be a non-empty list'),
                       ({'grid': {'batch_size': [32]}}, "'batch_size' is both in")):
    with pytest.raises(sweep.SweepError, match=message):
      sweep.load_config(_write(tmp_path, dict(TINY, **bad)))


def test_command_passes_settings_as_train_eval_flags():
  run = sweep.Run('ant', 'medium', 10_000, 'opal', 3, 'gen:ant-medium-5000',
                  'ant-expert-v2', '/r/x')
  args = sweep.command(run, {'hidden': [64, 64], 'finetune_decoder': False, 'window': 5})
  assert args[1:3] == ['-m', 'rl_repr_trail.train_eval']
  assert set(args[3:]) == {
      '--hidden=64,64', '--nofinetune_decoder', '--window=5', '--env=ant',
      '--method=opal', '--expert_data=ant-expert-v2',
      '--expert_size=10000', '--seed=3', '--save_dir=/r/x', '--offline_data=gen:ant-medium-5000'}


def _result(root, task, offline, method, seed, scores, expert_size=10_000):
  evals = [{'step': 1000 * (i + 1), 'normalized_score_mean': s, 'return_mean': 10 * s}
           for i, s in enumerate(scores)]
  d = root / task / (offline or 'none') / method.replace(' ', '_') / f'seed{seed}'
  d.mkdir(parents=True)
  (d / 'results.json').write_text(json.dumps({
      'method': method, 'task': task, 'offline_data': offline, 'expert_size': expert_size,
      'seed': seed, 'evals': evals, 'final': evals[-1],
      'best': max(evals, key=lambda e: e['normalized_score_mean'])}))


def test_summarize_tables_and_plots(tmp_path):
  root = tmp_path / 'runs'
  _result(root, 'ant', 'gen:ant-random-1000', 'TRAIL EBM', 0, [5, 30, 10])
  _result(root, 'ant', 'gen:ant-random-1000', 'TRAIL EBM', 1, [5, 10, 20])
  _result(root, 'ant', 'ant-medium-v2', 'TRAIL EBM', 0, [40, 50])
  _result(root, 'ant', None, 'BC', 0, [1, 4])
  _result(root, 'ant', None, 'BC', 1, [2, 8])
  text = summarize.summarize(str(root), str(tmp_path / 'out'))
  final = text.split('### Best')[0]
  best = text.split('### Best')[1].split('### Aggregates')[0]
  # Final: seeds 10 and 20; best: 30 and 20. BC (final 4 and 8) fills both ant rows.
  # The bootstrap mean of two scores takes the values a, (a + b) / 2, b with chances
  # 1/4, 1/2, 1/4: its 95% interval is [a, b].
  assert '| ant | random (gen) | 6.0 [4.0, 8.0] (2) | 15.0 [10.0, 20.0] (2) |' in final
  assert '| ant | medium-v2 | 6.0 [4.0, 8.0] (2) | 50.0 (1) |' in final
  assert '| ant | random (gen) | 6.0 [4.0, 8.0] (2) | 25.0 [20.0, 30.0] (2) |' in best
  aggregates = text.split('### Aggregates')[1]
  # BC: 2 seeds x 2 cells of (4, 8); TRAIL EBM: 1 seed (the fewest) x (10, 50). Every
  # TRAIL run outscores every BC run: P(TRAIL EBM > BC) = 1 in every resample.
  assert '| BC | 2 | 2 | 6.0 [4.0, 8.0] | 6.0 [4.0, 8.0] | - |' in aggregates
  assert '| TRAIL EBM | 2 | 1 | 30.0 [30.0, 30.0] | 30.0 [30.0, 30.0] | 1.00 [1.00, 1.00] |' \
      in aggregates
  assert '| task | offline data | BC | TRAIL EBM |' in text
  plots = sorted(os.listdir(tmp_path / 'out' / 'plots'))
  assert plots == ['aggregates_expert10000.png', 'bars_expert10000_best.png',
                   'bars_expert10000_final.png',
                   'curves_ant_medium_v2_expert10000.png',
                   'curves_ant_random_gen_expert10000.png']
  for name in plots:
    with open(tmp_path / 'out' / 'plots' / name, 'rb') as f:
      assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  assert (tmp_path / 'out' / 'summary.md').read_text().count('| ant |') == 4


def test_summarize_refuses_a_directory_without_runs(tmp_path):
  with pytest.raises(summarize.SummaryError, match='no finished run'):
    summarize.summarize(str(tmp_path))


def test_claims_report_ratios_and_verdicts_beyond_seed_noise(tmp_path):
  root = tmp_path / 'runs'
  for seed, (bc, ebm_random, ebm_medium) in enumerate([(10, 30, 11), (12, 32, 13)]):
    _result(root, 'hopper', None, 'BC', seed, [8, bc])
    _result(root, 'hopper', 'gen:hopper-random-1000', 'TRAIL EBM', seed, [1, ebm_random])
    _result(root, 'hopper', 'gen:hopper-medium-1000', 'TRAIL EBM', seed, [1, ebm_medium])
  _result(root, 'hopper', 'gen:hopper-random-1000', 'OPAL', 0, [1, 5])
  _result(root, 'hopper', 'gen:hopper-medium-1000', 'OPAL', 0, [1, 20])
  text, verdicts = claims.report(summarize.group(summarize.read_runs(str(root))))
  assert '| hopper | random (gen) | 11.0 | 5.0 (0.45x) | 31.0 (2.82x) |' in text
  assert '| hopper | medium (gen) | 11.0 | 20.0 (1.82x) | 12.0 (1.09x) |' in text
  assert '| hopper | OPAL | 5.0 | 20.0 | 0.25x |' in text
  assert '| hopper | TRAIL EBM | 31.0 | 12.0 | 2.58x |' in text
  # On random data both TRAIL runs outscore both BC runs (P = 1 in every resample); on
  # medium data TRAIL (11, 13) against BC (10, 12) gives P = 3/4, and resamples such as
  # (11, 11) against (12, 12) give 0: within noise. One OPAL seed leaves the noise unknown.
  assert verdicts == {'trail_beats_bc': ['within noise', 'yes'],
                      'trail_beats_bc_on_random': ['yes'],
                      'skills_degrade_on_random': ['yes, one seed']}
  assert '- TRAIL beats BC: 1 of 2 comparisons (yes 1, within noise 1); P = ' in text
  assert '- TRAIL beats BC on random offline data: 1 of 1 comparisons (yes 1); ' \
         'P = 1.00 [1.00, 1.00] over 1 cells' in text
  assert '- skill methods score lower on random data than on medium data: 0 of 1 ' \
         'comparisons (yes, one seed 1); no cell with 2 seeds on both sides' in text
  # 31 / 11 = 2.82; resampled, (30 or 32 twice) over (10 or 12 twice) spans 30/12 to 32/10.
  assert ('- TRAIL improves on BC by up to 4x: the largest ratio of mean scores is '
          '2.82 [2.50, 3.20]x (TRAIL EBM, hopper random (gen), expert 10000); its interval '
          'lies below 4x: not reproduced at this scale') in text
  assert 'Measured at: tasks hopper; expert data 10000 transitions;' in text


def test_a_difference_counts_only_when_its_interval_excludes_even_odds():
  runs = lambda *scores: [{'final': {'normalized_score_mean': s}, 'seed': i}
                          for i, s in enumerate(scores)]
  assert claims.compare(runs(9, 14), runs(8, 10)) == 'within noise'  # P = 3/4.
  assert claims.compare(runs(13, 15, 14), runs(8, 8, 9)) == 'yes'  # P = 1 in every resample.
  assert claims.compare(runs(3, 5), runs(8, 8)) == 'no'
  assert claims.compare(runs(9), runs(8, 8)) == 'yes, one seed'
  # Known values of rliable's estimators (Mann-Whitney U / (n m), ties count half;
  # IQM: the mean of the middle half of all scores).
  assert intervals.improvement_probability([1, 2, 3], [0, 2.5, 0.7]).point == pytest.approx(7 / 9)
  assert intervals.improvement_probability([1, 2], [2, 2]).point == pytest.approx(0.25)
  assert intervals.iqm(np.arange(1, 17).reshape(4, 4)).point == pytest.approx(8.5)
  found = intervals.mean([5, 5, 5])
  assert (found.point, found.low, found.high) == (5, 5, 5)


def test_sweep_runs_as_a_submitit_job_array_and_skips_finished_runs(tmp_path):
  # As a user runs it (a process of its own: submitit's local executor and pytest's
  # capture of the test process's file descriptors do not mix).
  path = _write(tmp_path, TINY)
  root = str(tmp_path / 'runs')
  command = [sys.executable, '-m', 'rl_repr_trail.sweep', path, f'--root={root}',
             '--executor=submitit_local', '--cpus_per_run=1', '--parallel=2']
  env = dict(os.environ, TRAIL_DATA_DIR=str(tmp_path / 'data'))
  result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env,
                          cwd=ROOT, check=False)
  assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
  assert 'submitted 2 runs as local job array' in result.stdout
  assert '2/2 ' in result.stdout and result.stdout.count(': final ') == 2, result.stdout
  for method, offline in (('bc', 'none'), ('trail_ebm', 'random')):
    with open(os.path.join(root, 'hopper', offline, 'expert500', method, 'seed0',
                           'results.json')) as f:
      assert json.load(f)['downstream_steps'] == 50
  assert os.listdir(os.path.join(root, 'submitit'))  # submitit's job logs.
  again = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env,
                         cwd=ROOT, check=False)
  assert again.returncode == 0 and '2 finished earlier (skipped), 0 to run' in again.stdout


def test_a_job_that_reaches_its_time_limit_is_stopped_cleanly_and_requeued(tmp_path):
  # One BC run longer than its job's time limit: a minute, told to stop 30 s before it.
  # Each time submitit checkpoints the job, which stops train_eval with SIGTERM (it saves
  # its state) and requeues itself; the array ends without a rerun.
  config = dict(TINY, methods=['bc'], slurm={'time_min': 1, 'signal_delay_s': 30})
  config['settings'] = dict(TINY['settings'], downstream_steps=300_000, eval_interval=100_000,
                            log_interval=1000, checkpoint_interval=1_000_000)
  root = tmp_path / 'runs'
  command = [sys.executable, '-m', 'rl_repr_trail.sweep', _write(tmp_path, config),
             f'--root={root}', '--executor=submitit_local', '--cpus_per_run=1']
  env = dict(os.environ, TRAIL_DATA_DIR=str(tmp_path / 'data'))
  result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env,
                          cwd=ROOT, check=False)
  assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
  run_dir = root / 'hopper' / 'none' / 'expert500' / 'bc' / 'seed0'
  log = (run_dir / 'train_eval.log').read_text()
  assert '[downstream] stopped by SIGTERM at step ' in log, log[-3000:]
  assert '[downstream] resuming from step ' in log
  results = json.loads((run_dir / 'results.json').read_text())
  assert results['downstream_steps'] == 300_000
  lines = (run_dir / 'evals.jsonl').read_text().splitlines()
  assert [json.loads(line)['step'] for line in lines] == [100_000, 200_000, 300_000]


def test_status_lines_come_while_runs_go_on(tmp_path, monkeypatch, capsys):
  # The run's process ends only once the sweep has printed a status line for it.
  printed = threading.Event()

  class FakeProcess:
    def __init__(self, *args, **kwargs):
      del args, kwargs

    def wait(self):
      assert printed.wait(timeout=120), 'no status line while the run went on'
      return 1

  def progress(run):
    printed.set()
    return f'[downstream] 10/50 ({run.method})'

  monkeypatch.setattr(sweep.subprocess, 'Popen', FakeProcess)
  monkeypatch.setattr(sweep, '_data_plan', lambda names: ([], []))
  monkeypatch.setattr(sweep, 'latest_progress', progress)
  config = sweep.load_config(_write(tmp_path, dict(TINY, methods=['bc'])))
  assert len(sweep.sweep(config, str(tmp_path / 'runs'), parallel=1, status_every=0.01)) == 1
  out = capsys.readouterr().out
  assert '[sweep] running hopper/none/expert500/bc/seed0: [downstream] 10/50 (bc)' in out


def test_local_runs_at_a_time_each_get_their_own_gpu(tmp_path, monkeypatch):
  seen, running, lock = [], set(), threading.Lock()
  together = threading.Barrier(2)  # Each run ends once another has started beside it.

  class FakeProcess:
    def __init__(self, args, env, **kwargs):
      del kwargs
      self.device = env.get('CUDA_VISIBLE_DEVICES')
      with lock:
        seen.append((args[args.index('-m') + 1], self.device))
        assert self.device not in running, (self.device, running)
        running.add(self.device)

    def wait(self):
      together.wait(timeout=60)
      with lock:
        running.discard(self.device)
      return 1

  monkeypatch.setattr(sweep.subprocess, 'Popen', FakeProcess)
  monkeypatch.setattr(sweep, '_data_plan', lambda names: ([], []))
  config = sweep.load_config(_write(tmp_path, dict(TINY, seeds=[0, 1, 2, 3])))
  failed = sweep.sweep(config, str(tmp_path / 'runs'), parallel=2, gpus=['0', '1'])
  assert len(failed) == 8 and {m for m, _ in seen} == {'rl_repr_trail.train_eval'}
  assert sorted(d for _, d in seen) == ['0'] * 4 + ['1'] * 4
  seen.clear()
  together = threading.Barrier(1)
  sweep.sweep(config, str(tmp_path / 'runs'), parallel=1, gpus=[])
  assert {d for _, d in seen} == {None}
  monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '2,5')
  assert sweep.gpu_devices() == ['2', '5']
  env = sweep.run_env(threads=1, device='5')
  assert env['CUDA_VISIBLE_DEVICES'] == '5' and env['TF_NUM_INTEROP_THREADS'] == '1'


def test_job_options_come_from_the_config_and_flags_override_them():
  config = {'slurm': {'partition': 'gpu', 'time_min': 90, 'gpus_per_run': 1}}
  options = sweep.job_options(config, 'slurm', parallel=3, time_min=30, cpus_per_run=None)
  assert (options.partition, options.time_min, options.gpus_per_run, options.cpus_per_run,
          options.array_parallelism) == ('gpu', 30, 1, 2, 3)
  with pytest.raises(sweep.SweepError, match=r'"slurm" has unknown keys \[.qos.\]'):
    sweep.job_options({'slurm': {'qos': 'high'}}, 'slurm', parallel=1)
  with pytest.raises(sweep.SweepError, match='slurm time_min=0: expected a positive integer'):
    sweep.job_options({'slurm': {'time_min': 0}}, 'slurm', parallel=1)


def test_a_failed_run_is_reported_with_its_error_and_left_out_of_the_summary(
    tmp_path, monkeypatch, capsys):
  monkeypatch.setenv('TRAIL_DATA_DIR', str(tmp_path / 'data'))
  root = str(tmp_path / 'runs')
  config = json.loads(json.dumps(TINY))
  config['methods'] = ['bc']
  # Two rates, one of which blows BC up: that run fails, the other finishes.
  config['grid'] = {'downstream_learning_rate': [1e-3, 1e4]}
  failed = sweep.sweep(sweep.load_config(_write(tmp_path, config)), root, parallel=1)
  assert [r.grid for r in failed] == [{'downstream_learning_rate': 1e4}]
  out = capsys.readouterr().out
  assert ('bc/downstream_learning_rate=10000.0/seed0: FAILED (exit 1: error: [downstream] '
          'diverged between steps') in out
  text = summarize.summarize(root)
  assert 'Left out, runs that stopped with an error:' in text
  assert ('hopper/none/expert500/bc/downstream_learning_rate=10000.0/seed0: error: '
          '[downstream] diverged') in text
  assert '| BC |' in text  # The finished run alone: no rate to tell it from another.


def test_sweep_settings_are_checked_as_train_eval_checks_its_flags(tmp_path):
  config = json.loads(json.dumps(TINY))
  config['settings']['embed_learning_rate'] = float('nan')
  with pytest.raises(sweep.SweepError, match=r'"settings": --embed_learning_rate=nan: expected '
                     r'a finite positive rate'):
    sweep.load_config(_write(tmp_path, config))
