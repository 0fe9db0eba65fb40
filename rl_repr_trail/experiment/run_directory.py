"""A run directory: its default path, the settings it was made with, atomic JSON writes
and the lock that keeps a second process out."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import socket

from rl_repr_trail.envs import tasks
from rl_repr_trail.experiment import run_config


def default_save_dir(config: run_config.RunConfig, task: tasks.Task) -> str:
  return os.path.join('runs', task.name, config.method, f'seed{config.seed}')


def settings_diff(save_dir: str, config: run_config.RunConfig) -> dict:
  """{flag: (saved, asked)} of the identity fields on which the run saved in `save_dir`
  (if any) differs from `config`."""
  path = os.path.join(save_dir, 'config.json')
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    saved = json.load(f)
  if saved.get('defaults', 1) != run_config.DEFAULTS_VERSION:
    return {'defaults': (saved.get('defaults', 1), run_config.DEFAULTS_VERSION)}
  return run_config.identity_diff(run_config.from_saved(saved), config)


def check(save_dir: str, config: run_config.RunConfig) -> None:
  """Refuses a directory that holds a run with other settings, except changes of
  changeable settings (rates, decay steps) asked for with --resume_changed."""
  diff = settings_diff(save_dir, config)
  if 'defaults' in diff:
    raise run_config.ConfigError(
        f'{save_dir} holds a run made with the defaults of an earlier version of '
        'rl_repr_trail (before the original code\'s); pass another --save_dir.')
  fixed = {k: v for k, v in diff.items() if k not in run_config.changeable_flags(config)}
  if fixed or (diff and not config.resume_changed):
    hint = '' if fixed else (' To resume it with the changed settings (recorded in its '
                             'config.json), pass --resume_changed.')
    raise run_config.ConfigError(f'{save_dir} holds a run with other settings ({diff}, as '
                                 f'(saved, asked)); pass another --save_dir.{hint}')


# Settings whose change is not worth a history entry: where the run is, and the flag that
# allows changes.
_UNRECORDED = ('save_dir', 'resume_changed')


def record(save_dir: str, config: run_config.RunConfig) -> list[dict]:
  """Writes config.json: the settings on a new run; on a resume, the first settings stay
  and each setting that changed is appended to its 'history' (the steps each phase had
  reached, the setting, its old and new value). Returns the new history entries."""
  path = os.path.join(save_dir, 'config.json')
  if not os.path.exists(path):
    write_json(path, {**dataclasses.asdict(config), 'defaults': run_config.DEFAULTS_VERSION})
    return []
  with open(path) as f:
    saved = json.load(f)
  before, after = run_config.from_saved(saved).flags(), config.flags()
  steps = {phase: _checkpoint_step(os.path.join(save_dir, phase))
           for phase in ('pretrain', 'downstream')}
  changes = [{'step': steps, 'setting': name, 'old': before.get(name), 'new': value}
             for name, value in after.items()
             if name not in _UNRECORDED and json.loads(json.dumps(before.get(name)))
             != json.loads(json.dumps(value))]
  if changes:
    saved['history'] = saved.get('history', []) + changes
    write_json(path, saved)
  return changes


def _checkpoint_step(directory: str) -> int:
  """The step of a phase's latest checkpoint (0: none), read from its index file."""
  try:
    with open(os.path.join(directory, 'checkpoint')) as f:
      first = f.readline()
  except FileNotFoundError:
    return 0
  match = re.search(r'ckpt-(\d+)', first)
  return int(match.group(1)) if match else 0


def write_json(path: str, value) -> None:
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(value, f, indent=1)
  os.replace(tmp, path)


LOCK_FILE = 'lock'
SPEC_FILE = 'spec.json'  # The task's name and sizes and the action bounds.


def _pid_alive(pid: int) -> bool:
  if pid <= 0:  # Not a process id (a lock file that is not ours).
    return False
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


@contextlib.contextmanager
def lock(save_dir: str):
  """Holds `save_dir` for this process: a lock file with its PID and host, made atomically.

  A second run on the directory is refused at once, naming the owner; a lock whose owner
  no longer exists on this host is taken over, with a printed line.
  """
  path = os.path.join(save_dir, LOCK_FILE)
  me = {'pid': os.getpid(), 'host': socket.gethostname()}
  for _ in range(2):
    try:
      fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
      try:
        with open(path) as f:
          owner = json.load(f)
      except (OSError, ValueError):
        owner = {}
      if owner.get('host') == me['host'] and not _pid_alive(int(owner.get('pid', -1))):
        print(f'{save_dir}: taking over the lock of process {owner.get("pid")}, which no '
              'longer runs.', flush=True)
        os.remove(path)
        continue
      raise run_config.ConfigError(
          f'{save_dir} is in use by another run (process {owner.get("pid")} on host '
          f'{owner.get("host")}, see {path}); wait for it to end or pass another '
          '--save_dir.') from None
    with os.fdopen(fd, 'w') as f:
      json.dump(me, f)
    break
  else:  # Another process took the stale lock over first.
    raise run_config.ConfigError(f'{save_dir} is in use by another run (see {path}); pass another '
                                 '--save_dir.')
  try:
    yield
  finally:
    os.remove(path)
