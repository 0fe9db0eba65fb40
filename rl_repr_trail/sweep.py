r"""Runs a grid of experiments: tasks x offline data x methods x expert sizes x seeds.

  python -m rl_repr_trail.sweep launch/configs/locomotion_quick.json [--parallel=2] \
      [--root=DIR] [--override='{"seeds": [0]}'] [--executor=slurm --slurm_partition=P]
  python -m rl_repr_trail.sweep CONFIG --check [--estimate]   # the plan, nothing run

The config is JSON (see launch/configs/ for commented examples in their "about"):
  tasks, offline_kinds (random, medium, medium-replay, ...), methods (names of the
  registry, methods/registry.py: bc, opal, spirl, skild, trail_ebm, trail_linear, or the
  import path of a Method defined elsewhere, importable by the runs too), expert_sizes,
  seeds, root (the sweep's directory), data {source: auto | d4rl | generated, offline_rows,
  expert_rows},
  settings (any train_eval flag, e.g. pretrain_steps), grid ({flag: [values]}: a run per
  combination, each in a directory named by its values), parallel, and optionally
  datasets {TASK: {offline: {LABEL: name or path}, expert: name or path}}, which
  names a task's data outright instead of by kind (AntMaze's D4RL files, Minari's),
  and slurm {partition, time_min, cpus_per_run, gpus_per_run, array_parallelism},
  the jobs' resources with --executor=slurm (flags of the same names override them).

Each run is a train_eval process with its own directory
root/TASK/OFFLINE/expertN/METHOD[/FLAG=VALUE,...]/seedS (BC, which reads no offline data,
under OFFLINE = none; the grid's values, when there is a grid) and its log in train_eval.log there. A rerun skips finished runs
(results.json for the asked number of steps) and resumes the others from their
checkpoints. With data source auto a D4RL file is used when it is present and
the generated dataset otherwise; generated data is made once, before the runs.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import queue
import re
import signal
import subprocess
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')  # Hides CUDA probing noise on CPU.

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags

from rl_repr_trail.core import errors
from rl_repr_trail.core import progress
from rl_repr_trail.core.settings import value_text
from rl_repr_trail.core import stopping
from rl_repr_trail.data import datasets
from rl_repr_trail.data import minari_datasets
from rl_repr_trail.data import names
from rl_repr_trail.datagen import generate
from rl_repr_trail.envs import tasks
from rl_repr_trail.experiment import preflight
from rl_repr_trail.experiment import run_config
from rl_repr_trail.experiment import run_directory
from rl_repr_trail.methods import registry


SOURCES = ('auto', 'd4rl', 'generated')
_KEYS = {'about', 'root', 'tasks', 'offline_kinds', 'methods', 'expert_sizes', 'seeds', 'data',
         'settings', 'grid', 'parallel', 'datasets', 'slurm'}
_DATA_KEYS = {'source', 'offline_rows', 'expert_rows'}
# Settings the sweep itself sets for each run.
_PER_RUN = {'offline_data', 'expert_data', 'env', 'method', 'expert_size', 'seed', 'save_dir'}
_PROGRESS_LINE = re.compile(r'^\[[\w ]+\] \d+/\d+ ')  # progress.Progress's lines.

FLAGS = flags.FLAGS
flags.DEFINE_integer('parallel', None, 'Runs at a time (default: the config\'s, else 1).')
flags.DEFINE_string('root', None, 'Sweep directory (default: the config\'s root).')
flags.DEFINE_string('override', None, 'JSON merged into the config, e.g. '
                    '\'{"seeds": [0], "settings": {"downstream_steps": 100}}\' (the data and '
                    'settings objects are merged key by key).')
EXECUTORS = ('local', 'slurm', 'submitit_local')
flags.DEFINE_enum('executor', 'local', EXECUTORS,
                  'local: a pool of train_eval processes on this machine; slurm: a Slurm job '
                  'array through submitit (a run per array task); submitit_local: that job '
                  'array run by submitit on this machine, to check a grid before submitting.')
flags.DEFINE_string('slurm_partition', None, 'Slurm partition (default: the config\'s '
                    'slurm.partition, else the cluster\'s default).')
flags.DEFINE_integer('slurm_time_min', None, 'Time limit of a run\'s job, minutes (default: '
                     f'the config\'s slurm.time_min, else {24 * 60}).', lower_bound=1)
flags.DEFINE_integer('cpus_per_run', None, 'CPUs of a run\'s job (default: the config\'s '
                     'slurm.cpus_per_run, else 2).', lower_bound=1)
flags.DEFINE_integer('gpus_per_run', None, 'GPUs of a run\'s job (default: the config\'s '
                     'slurm.gpus_per_run, else 0).', lower_bound=0)
flags.DEFINE_integer('array_parallelism', None, 'Runs of the job array at once (default: the '
                     'config\'s slurm.array_parallelism, else --parallel).', lower_bound=1)
flags.DEFINE_bool('check', False, 'Resolve every run, dataset and setting and print the plan '
                  '(runs, data to generate or read, update steps by kind) without training or '
                  'generating; exits non-zero with a line per problem.')
flags.DEFINE_bool('estimate', False, 'With --check: also time a few seconds of each kind of '
                  'step on this machine and print how long the sweep will take.')
flags.DEFINE_list('gpus', None, 'GPU ids that local runs share, one per run at a time '
                  '(default: CUDA_VISIBLE_DEVICES, else those nvidia-smi lists, else none).')
flags.DEFINE_integer('status_every', 600, 'Seconds between status lines that show each '
                     "running run's latest progress line (0: only when a run ends).",
                     lower_bound=0)


class SweepError(errors.InputError):
  """A sweep config that cannot run, naming the file and key."""


@dataclasses.dataclass
class JobOptions:
  """What each run's job asks of the cluster (--executor=slurm or submitit_local)."""

  executor: str = 'slurm'
  partition: str | None = None
  time_min: int = 24 * 60
  cpus_per_run: int = 2
  gpus_per_run: int = 0
  array_parallelism: int = 1
  # A run that reaches its time limit or is preempted is stopped cleanly and requeued, up
  # to this many times.
  max_requeues: int = 20
  # Seconds before the time limit at which the job is told to stop (submitit's default
  # when None: 90 on Slurm).
  signal_delay_s: int | None = None


def job_options(config: dict, executor: str, parallel: int, **from_flags) -> JobOptions:
  """The config's "slurm" object with the flags that were given laid over it."""
  given = dict(config.get('slurm', {}))
  fields = {f.name for f in dataclasses.fields(JobOptions)} - {'executor'}
  if set(given) - fields:
    raise SweepError(f'"slurm" has unknown keys {sorted(set(given) - fields)}; expected some '
                     f'of {sorted(fields)}.')
  given.setdefault('array_parallelism', parallel)
  given.update({k: v for k, v in from_flags.items() if v is not None})
  options = JobOptions(executor=executor, **given)
  for key in ('time_min', 'cpus_per_run', 'array_parallelism', 'max_requeues'):
    if not isinstance(getattr(options, key), int) or getattr(options, key) < 1:
      raise SweepError(f'slurm {key}={getattr(options, key)!r}: expected a positive integer.')
  if not isinstance(options.gpus_per_run, int) or options.gpus_per_run < 0:
    raise SweepError(f'slurm gpus_per_run={options.gpus_per_run!r}: expected an integer >= 0.')
  return options


@dataclasses.dataclass
class Run:
  """One experiment of the grid."""

  task: str
  offline_kind: str          # 'none' for a method without pretraining (BC).
  expert_size: int
  method: str
  seed: int
  offline_data: str | None
  expert_data: str
  save_dir: str
  grid: dict = dataclasses.field(default_factory=dict)  # This run's values of the grid.

  @property
  def label(self) -> str:
    point = ([','.join(f'{k}={value_text(v)}' for k, v in self.grid.items())]
             if self.grid else [])
    return os.path.join(self.task, self.offline_kind, f'expert{self.expert_size}', self.method,
                        *point, f'seed{self.seed}')



def _need(config: dict, key: str, path: str, kind=list):
  if key not in config:
    raise SweepError(f'{path}: missing key "{key}".')
  value = config[key]
  if not isinstance(value, kind) or (kind is list and not value):
    raise SweepError(f'{path}: "{key}" must be a non-empty {kind.__name__}, got {value!r}.')
  return value


def _merge(config: dict, override: dict) -> dict:
  merged = dict(config)
  for key, value in override.items():
    if key in ('data', 'settings') and isinstance(value, dict):
      merged[key] = {**config.get(key, {}), **value}
    else:
      merged[key] = value
  return merged


def load_config(path: str, override: str | None = None) -> dict:
  """Reads and checks a sweep config (and a JSON override); errors name the file and key."""
  try:
    with open(path) as f:
      config = json.load(f)
  except FileNotFoundError:
    raise SweepError(f'Sweep config {path} does not exist.') from None
  except json.JSONDecodeError as e:
    raise SweepError(f'{path}: not valid JSON ({e}).') from None
  if not isinstance(config, dict):
    raise SweepError(f'{path}: expected a JSON object.')
  if override:
    try:
      extra = json.loads(override)
    except json.JSONDecodeError as e:
      raise SweepError(f'--override: not valid JSON ({e}).') from None
    if not isinstance(extra, dict):
      raise SweepError('--override: expected a JSON object.')
    config = _merge(config, extra)
    path = f'{path} with --override'
  unknown = set(config) - _KEYS
  if unknown:
    raise SweepError(f'{path}: unknown keys {sorted(unknown)}; expected some of {sorted(_KEYS)}.')
  for task in _need(config, 'tasks', path):
    if task not in tasks.TASKS and not _minari_task(config, task):
      raise SweepError(f'{path}: task {task!r} is not one of {sorted(tasks.TASKS)} (or a label '
                       'whose "datasets" are all minari: names).')
  for method in _need(config, 'methods', path):
    try:
      registry.get(method)  # Imports a method named by import path.
    except KeyError as e:
      raise SweepError(f'{path}: method {method!r}: {e.args[0]}') from None
  data_names = config.setdefault('datasets', {})
  for task, named in data_names.items():
    if task not in config['tasks']:
      raise SweepError(f'{path}: "datasets" names task {task!r}, which is not in "tasks".')
    if (not isinstance(named, dict) or not isinstance(named.get('expert'), str)
        or not isinstance(named.get('offline'), dict) or not named['offline']
        or not all(isinstance(v, str) for v in named['offline'].values())):
      raise SweepError(f'{path}: "datasets"/{task} must be {{"offline": {{LABEL: NAME, ...}}, '
                       f'"expert": NAME}}, got {named!r}.')
  needs_offline = any(registry.get(m).pretrains for m in config['methods']) and any(
      t not in data_names for t in config['tasks'])
  if needs_offline:
    for kind in _need(config, 'offline_kinds', path):
      if kind not in generate.KINDS:
        raise SweepError(f'{path}: offline kind {kind!r} is not one of {generate.KINDS}.')
  for key in ('expert_sizes', 'seeds'):
    for value in _need(config, key, path):
      if not isinstance(value, int) or value < 0 or (key == 'expert_sizes' and value == 0):
        raise SweepError(f'{path}: "{key}" holds {value!r}; expected non-negative integers '
                         '(expert sizes positive).')
  source = config.setdefault('data', {}).setdefault('source', 'auto')
  if set(config['data']) - _DATA_KEYS:
    raise SweepError(f'{path}: unknown keys {sorted(set(config["data"]) - _DATA_KEYS)} in '
                     f'"data"; expected some of {sorted(_DATA_KEYS)}.')
  if source not in SOURCES:
    raise SweepError(f'{path}: data source {source!r} is not one of {SOURCES}.')
  settings = config.setdefault('settings', {})
  grid = config.setdefault('grid', {})
  fields = set(run_config.all_flags())
  for part, keys in (('settings', settings), ('grid', grid)):
    for key in keys:
      if key not in fields or key in _PER_RUN:
        raise SweepError(f'{path}: {part} key {key!r} is not a train_eval setting the sweep '
                         f'leaves to you; expected some of {sorted(fields - _PER_RUN)}.')
  for key, values in grid.items():
    if not isinstance(values, list) or not values or len(set(map(json.dumps, values))) < len(values):
      raise SweepError(f'{path}: "grid"/{key} must be a non-empty list of distinct values, '
                       f'got {values!r}.')
    if key in settings:
      raise SweepError(f'{path}: {key!r} is both in "settings" and in "grid"; keep one.')
  for method in config['methods']:  # Each method's runs, checked as train_eval would.
    for point in grid_points(grid):
      try:
        run_config.validate(run_config.from_settings(dict(
            settings, **point, method=method, expert_data='expert', offline_data='offline')))
      except run_config.ConfigError as e:
        where = f'"settings" with "grid" {point}' if point else '"settings"'
        raise SweepError(f'{path}: {where}: {e}') from None
  config.setdefault('parallel', 1)
  return config


def grid_points(grid: dict[str, list]) -> list[dict]:
  """Every combination of the grid's values ([{}] for no grid), in the config's order."""
  points = [{}]
  for key, values in grid.items():
    points = [dict(point, **{key: value}) for point in points for value in values]
  return points


def _dataset(task: str, kind: str, rows: int, source: str) -> str:
  """A D4RL name when its file is present (or required), else the generated name."""
  d4rl_name = f'{task}-{kind}-v2'
  if source == 'd4rl' or (source == 'auto' and os.path.exists(
      os.path.join(datasets.d4rl_dataset_dir(), datasets.d4rl_file_name(d4rl_name)))):
    datasets.resolve_path(d4rl_name)  # A clear error naming the file when it is missing.
    return d4rl_name
  return names.generated(task, kind, rows)


def _minari_task(config: dict, task: str) -> bool:
  """Whether every dataset the config names for `task` is a Minari one (whose own
  metadata then gives the environment; the task is only a label)."""
  named = config.get('datasets', {}).get(task)
  if not isinstance(named, dict) or not isinstance(named.get('offline'), dict):
    return False
  given = [named.get('expert'), *named['offline'].values()]
  return all(names.is_minari(n) for n in given)


def plan(config: dict, root: str) -> list[Run]:
  """The grid's runs, in the order they start."""
  source = config['data']['source']
  offline_rows = config['data'].get('offline_rows', generate.DEFAULT_ROWS)
  expert_rows = config['data'].get('expert_rows', max(config['expert_sizes']) + 1000)
  runs = []
  for task in config['tasks']:
    named = config['datasets'].get(task)
    if named:
      expert, offline_data = named['expert'], dict(named['offline'])
    else:
      expert = _dataset(task, 'expert', expert_rows, source)
      offline_data = {kind: _dataset(task, kind, offline_rows, source)
                      for kind in config['offline_kinds']}
    for size in config['expert_sizes']:
      for method in config['methods']:
        kinds = list(offline_data) if registry.get(method).pretrains else ['none']
        for kind in kinds:
          offline = offline_data.get(kind)
          for point in grid_points(config.get('grid', {})):
            for seed in config['seeds']:
              run = Run(task, kind, size, method, seed, offline, expert, '', point)
              run.save_dir = os.path.join(root, run.label)
              runs.append(run)
  return runs


def _values(run: Run, settings: dict) -> dict:
  """Every train_eval setting of a run."""
  values = dict(settings, **run.grid, env=run.task, method=run.method,
                expert_data=run.expert_data, expert_size=run.expert_size, seed=run.seed,
                save_dir=run.save_dir)
  if names.is_minari(run.expert_data):
    del values['env']  # The dataset's metadata names the environment.
  if run.offline_data:
    values['offline_data'] = run.offline_data
  return values


def command(run: Run, settings: dict) -> list[str]:
  """The train_eval command line of a run."""
  values = _values(run, settings)
  args = [sys.executable, '-m', 'rl_repr_trail.train_eval']
  for name, value in values.items():
    if isinstance(value, bool):
      args.append(f'--{"" if value else "no"}{name}')
    elif isinstance(value, (list, tuple)):
      args.append(f'--{name}={",".join(str(v) for v in value)}')
    else:
      args.append(f'--{name}={value}')
  return args


def finished(run: Run, settings: dict) -> bool:
  """Whether the run's results cover the asked number of downstream steps."""
  path = os.path.join(run.save_dir, 'results.json')
  if not os.path.exists(path):
    return False
  with open(path) as f:
    results = json.load(f)
  steps = _values(run, settings).get('downstream_steps', run_config.Schedule.downstream_steps)
  return results.get('downstream_steps') == steps


def run_env(threads: int, device: str | None = None) -> dict[str, str]:
  """The environment of a run's process: its share of the cores as parallel one-thread ops
  (devices.configure), and with `device` the one GPU it sees (CUDA_VISIBLE_DEVICES)."""
  env = dict(os.environ, TF_NUM_INTRAOP_THREADS='1', TF_NUM_INTEROP_THREADS=str(threads),
             OPENBLAS_NUM_THREADS='1')
  if device is not None:
    env['CUDA_VISIBLE_DEVICES'] = device
  return env


def _start(run: Run, settings: dict, threads: int, device: str | None = None,
           job: '_Job | None' = None) -> tuple[int, float]:
  """Runs one train_eval process to its end; returns its exit code and seconds."""
  os.makedirs(run.save_dir, exist_ok=True)
  args = command(run, settings)
  t0 = time.time()
  with open(os.path.join(run.save_dir, 'train_eval.log'), 'a') as log:
    log.write(f'$ {" ".join(args)}\n')
    log.flush()
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                            env=run_env(threads, device))
    if job is not None:
      job.proc = proc
    code = proc.wait()
  return code, time.time() - t0


class _Job:
  """A run as a submitit job. At a time limit or a preemption submitit calls `checkpoint`
  (it has one, so submitit requeues it): the run is stopped with SIGTERM, which makes it
  save its state at its current step, and the job is resubmitted to resume it."""

  def __init__(self):
    self.proc = None

  def __call__(self, run: Run, settings: dict, threads: int) -> tuple[int, float]:
    return _start(run, settings, threads, job=self)

  def checkpoint(self, run: Run, settings: dict, threads: int):
    from submitit.helpers import DelayedSubmission  # pylint: disable=g-import-not-at-top
    if self.proc is not None and self.proc.returncode is None:
      self.proc.send_signal(signal.SIGTERM)
      # Called from a signal handler that may have interrupted proc.wait(), which holds
      # the Popen's lock: wait for the process without it.
      try:
        os.waitpid(self.proc.pid, 0)
      except ChildProcessError:  # Already reaped.
        pass
    return DelayedSubmission(_Job(), run, settings, threads)

  def __getstate__(self) -> dict:  # A process handle is not pickled with the job.
    return {'proc': None}


def gpu_devices() -> list[str]:
  """The GPUs a local sweep shares out: CUDA_VISIBLE_DEVICES when set, else those
  `nvidia-smi -L` lists, else none."""
  visible = os.environ.get('CUDA_VISIBLE_DEVICES')
  if visible is not None:
    return [d for d in visible.split(',') if d.strip() and d.strip() != '-1']
  try:
    listing = subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True, timeout=30,
                             check=False).stdout
  except (OSError, subprocess.TimeoutExpired):
    return []
  return [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith('GPU ')]


def error_line(save_dir: str) -> str:
  """The last 'error: ...' line of a run's log (how train_eval reports why it stopped)."""
  try:
    with open(os.path.join(save_dir, 'train_eval.log'), errors='replace') as f:
      errors_seen = [line.strip() for line in f if line.startswith('error: ')]
  except FileNotFoundError:
    return ''
  return errors_seen[-1] if errors_seen else ''


def latest_progress(run: Run) -> str:
  """The last progress line ('[phase] step/total ...') of a run's log, or 'starting'."""
  try:
    with open(os.path.join(run.save_dir, 'train_eval.log'), 'rb') as f:
      f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
      lines = f.read().decode(errors='replace').splitlines()
  except FileNotFoundError:
    return 'starting'
  found = [line for line in lines if _PROGRESS_LINE.match(line)]
  return found[-1].strip() if found else 'starting'


def _final_score(run: Run) -> str:
  with open(os.path.join(run.save_dir, 'results.json')) as f:
    results = json.load(f)
  return f'final {results["final"]["normalized_score_mean"]:.1f}'


def _data_names(runs: list[Run]) -> list[str]:
  return sorted({r.expert_data for r in runs} | {r.offline_data for r in runs if r.offline_data})


def _data_plan(data_names: list[str]) -> tuple[list[str], list[str]]:
  """A line per dataset saying how the runs get it, and one per dataset they cannot."""
  lines, missing = [], []
  for name in data_names:
    try:
      lines.append(f'{name}: {preflight.data_status(name)}')
    except (errors.InputError, FileNotFoundError) as e:
      missing.append(str(e))
  return lines, missing


def _clashes(runs: list[Run], settings: dict) -> list[str]:
  """Runs whose directory holds a run made with other settings."""
  return [f'{r.label}: {diff}' for r in runs if (diff := run_directory.settings_diff(
      r.save_dir, run_config.from_settings(_values(r, settings))))]


def check(config: dict, root: str, parallel: int, estimate: bool = False) -> list[str]:
  """Prints what the sweep would do (runs, data, update steps; with `estimate` the time
  on this machine) without training or generating; returns its problems, a line each."""
  runs = plan(config, root)
  settings = config['settings']
  todo = [r for r in runs if not finished(r, settings)]
  print(f'[check] {len(runs)} runs in {root}: {len(runs) - len(todo)} finished, '
        f'{len(todo)} to run, {parallel} at a time.')
  problems = [f'{line} (as saved, asked): pass another --root' for line in _clashes(runs, settings)]
  lines, missing = _data_plan(_data_names(todo))
  problems += missing
  for line in lines:
    print(f'[check] data: {line}')
  configs = [run_config.from_settings(_values(r, settings)) for r in todo]
  for kind, count in sorted(preflight.step_counts(configs).items()):
    print(f'[check] {kind}: {count:,}')
  if estimate and todo and not problems:
    pairs = [(c, minari_datasets.task(r.expert_data) if names.is_minari(r.expert_data)
              else tasks.get_task(r.task)) for c, r in zip(configs, todo)]
    seconds, timed = preflight.estimate(pairs)
    for line in timed:
      print(f'[check] timed: {line}')
    print(f'[check] estimate: {progress.format_seconds(seconds)} one run after another, about '
          f'{progress.format_seconds(seconds / min(parallel, len(todo)))} with {parallel} at a '
          'time if the machine has a core or a device for each.')
  for problem in problems:
    print(f'problem: {problem}', file=sys.stderr)
  print(f'[check] {"ok" if not problems else f"{len(problems)} problems"}.', flush=True)
  return problems


def sweep(config: dict, root: str, parallel: int, status_every: float = 0,
          jobs: JobOptions | None = None, gpus: list[str] | None = None) -> list[Run]:
  """Runs the grid; returns the runs that failed. Every `status_every` seconds without a
  run ending (0: never) it prints each running run's latest progress line. With `jobs`
  the runs are a submitit job array (Slurm, or submitit's local executor). Local runs
  each see one of `gpus` (device ids) when there are any."""
  runs = plan(config, root)
  settings = config['settings']
  # A finished run made with other settings would otherwise be skipped and summarized as
  # if it were this sweep's.
  clashes = _clashes(runs, settings)
  if clashes:
    raise SweepError(f'{root} holds runs made with other settings, as (saved, asked):\n  '
                     + '\n  '.join(clashes) + '\nPass another --root.')
  todo = [r for r in runs if not finished(r, settings)]
  print(f'[sweep] {len(runs)} runs in {root}: {len(runs) - len(todo)} finished earlier '
        f'(skipped), {len(todo)} to run, {parallel} at a time.', flush=True)
  data_names = _data_names(todo)
  _, missing = _data_plan(data_names)  # Everything that is missing, before any data is made.
  if missing:
    raise SweepError('The sweep needs data it cannot read or generate:\n  '
                     + '\n  '.join(missing))
  for name in data_names:  # Generated once here, not by several runs at the same time.
    if names.is_generated(name):
      path = generate.resolve(name)
    else:
      path = name if names.is_minari(name) else datasets.resolve_path(name)
    print(f'[sweep] data: {name} = {path}', flush=True)
  for r in todo:
    if os.path.exists(os.path.join(r.save_dir, 'config.json')):
      print(f'[sweep] {r.label}: interrupted earlier, resuming.', flush=True)
  if jobs is not None:
    return _submit(todo, settings, root, jobs)
  threads = max(1, (os.cpu_count() or 1) // parallel)
  # With GPUs, each of the runs at a time gets its own (round robin when they are fewer).
  devices = queue.Queue()
  for slot, device in enumerate((gpus or [None]) * parallel):
    if slot < parallel:
      devices.put(device)

  def start(run: Run) -> tuple[int, float]:
    device = devices.get()
    try:
      return _start(run, settings, threads, device)
    finally:
      devices.put(device)

  if gpus:
    print(f'[sweep] GPUs {",".join(gpus)}: each run sees one (CUDA_VISIBLE_DEVICES).', flush=True)
  failed, done, t0 = [], 0, time.time()
  with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
    futures = {pool.submit(start, r): r for r in todo}
    pending = set(futures)
    while pending:
      ended, pending = concurrent.futures.wait(
          pending, timeout=status_every or None, return_when=concurrent.futures.FIRST_COMPLETED)
      for future in ended:
        done += 1
        _report(futures[future], *future.result(), done, len(todo), t0, failed)
      if not ended:
        for future in sorted(pending, key=lambda f: futures[f].label):
          if future.running():
            print(f'[sweep] running {futures[future].label}: '
                  f'{latest_progress(futures[future])}', flush=True)
  return failed


def _report(run: Run, code: int, seconds: float, done: int, total: int, t0: float,
            failed: list[Run]) -> None:
  """Prints a run's end (its final score, or where its log is) and notes a failure."""
  if code == 0:
    outcome = _final_score(run)
  elif code == stopping.STOPPED_EXIT_CODE:
    failed.append(run)
    outcome = 'stopped by a signal, its state saved (rerun the sweep to resume it)'
  else:
    failed.append(run)
    error = error_line(run.save_dir)
    outcome = (f'FAILED (exit {code}{": " + error if error else ""}), see '
               f'{os.path.join(run.save_dir, "train_eval.log")}')
  print(f'[sweep] {done}/{total} {run.label}: {outcome} ({progress.format_seconds(seconds)}; '
        f'sweep {progress.format_seconds(time.time() - t0)})', flush=True)


def _submit(todo: list[Run], settings: dict, root: str, options: JobOptions) -> list[Run]:
  """Runs `todo` as one submitit job array and waits for it; returns the runs that failed.

  Each array task runs one train_eval process, as the local pool does, so a rerun skips
  finished runs and resumes interrupted ones from the shared filesystem the same way.
  """
  import submitit  # pylint: disable=g-import-not-at-top  # Only this executor needs it.
  cluster = 'slurm' if options.executor == 'slurm' else 'local'
  folder = os.path.join(root, 'submitit', '%j')
  parameters = dict(timeout_min=options.time_min, gpus_per_node=options.gpus_per_run,
                    name='rl_repr_trail')
  if cluster == 'slurm':
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster,
                                     slurm_max_num_timeout=options.max_requeues)
    parameters.update(cpus_per_task=options.cpus_per_run,
                      slurm_array_parallelism=options.array_parallelism)
    if options.partition:
      parameters['slurm_partition'] = options.partition
    if options.signal_delay_s is not None:
      parameters['slurm_signal_delay_s'] = options.signal_delay_s
  else:  # submitit's own local executor: AutoExecutor does not pass its signal delay on.
    executor = submitit.LocalExecutor(folder=folder, max_num_timeout=options.max_requeues)
    if options.signal_delay_s is not None:
      parameters['signal_delay_s'] = options.signal_delay_s
  executor.update_parameters(**parameters)
  if not todo:
    return []
  t0 = time.time()
  jobs = executor.map_array(_Job(), todo, [settings] * len(todo),
                            [options.cpus_per_run] * len(todo))
  print(f'[sweep] submitted {len(jobs)} runs as {cluster} job array {jobs[0].job_id.split("_")[0]} '
        f'(logs in {os.path.join(root, "submitit")}).', flush=True)
  by_job = {job.job_id: run for job, run in zip(jobs, todo)}
  failed: list[Run] = []
  for done, job in enumerate(submitit.helpers.as_completed(jobs), 1):
    run = by_job[job.job_id]
    try:
      code, seconds = job.result()
    except Exception as e:  # pylint: disable=broad-except  # The job itself failed.
      first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
      print(f'[sweep] {run.label}: job {job.job_id} failed: {first}', flush=True)
      code, seconds = -1, time.time() - t0
    _report(run, code, seconds, done, len(todo), t0, failed)
  return failed


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    raise app.UsageError('Usage: python -m rl_repr_trail.sweep CONFIG.json [--parallel=N]')
  try:
    config = load_config(argv[1], FLAGS.override)
    root = FLAGS.root or config.get('root') or os.path.join(
        'runs', os.path.splitext(os.path.basename(argv[1]))[0])
    parallel = FLAGS.parallel or config['parallel']
    if parallel < 1:
      raise SweepError(f'--parallel={parallel}: expected at least 1.')
    if FLAGS.check or FLAGS.estimate:
      sys.exit(1 if check(config, root, parallel, FLAGS.estimate) else 0)
    jobs = None
    if FLAGS.executor != 'local':
      jobs = job_options(config, FLAGS.executor, parallel, partition=FLAGS.slurm_partition,
                         time_min=FLAGS.slurm_time_min, cpus_per_run=FLAGS.cpus_per_run,
                         gpus_per_run=FLAGS.gpus_per_run,
                         array_parallelism=FLAGS.array_parallelism)
    gpus = FLAGS.gpus if FLAGS.gpus is not None else gpu_devices()
    failed = sweep(config, root, parallel, FLAGS.status_every, jobs, gpus if jobs is None else None)
  except (errors.InputError, FileNotFoundError) as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  if failed:
    print(f'[sweep] {len(failed)} runs failed.', file=sys.stderr)
    sys.exit(1)
  print(f'[sweep] all runs finished. Summarize with: python -m rl_repr_trail.summarize {root}')


if __name__ == '__main__':
  app.run(main)
