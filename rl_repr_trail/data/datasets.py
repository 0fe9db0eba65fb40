"""D4RL-format data: reading and writing HDF5 files, transitions and windows.

Files follow D4RL's layout (observations, actions, rewards, terminals, timeouts,
optionally next_observations, infos/*, metadata/*) and are read with h5py, so the
d4rl package is never needed. In memory a dataset keeps each observation once:
`next_row[r]` says which row of `observations` follows row r (-1 where row r is
no transition), so that the memory stays close to the raw arrays.
"""

from __future__ import annotations

import dataclasses
import json
import os

import h5py
import numpy as np

from rl_repr_trail.core import errors
from rl_repr_trail.data import names

REQUIRED_KEYS = ('observations', 'actions', 'terminals')


class DataError(errors.InputError):
  """A dataset file or name that cannot be used, with the reason."""


@dataclasses.dataclass
class Dataset:
  """Rows of a D4RL-format file, with the transition structure made explicit.

  observations: [rows + extra, obs_dim]; rows past `len(actions)` hold the true
    next observation of terminal rows (from next_observations).
  actions: [rows, action_dim].
  next_row: [rows] int32, row of the next observation, -1 if row r is no transition
    (the last row of a timed-out episode, or a terminal row without next_observations).
  episode_end: [rows] bool, where an episode ends (terminals, timeouts, or a row whose
    next observation is not the following row).
  """

  observations: np.ndarray
  actions: np.ndarray
  next_row: np.ndarray
  episode_end: np.ndarray
  source: str = ''

  @property
  def obs_dim(self) -> int:
    return self.observations.shape[1]

  @property
  def action_dim(self) -> int:
    return self.actions.shape[1]

  @property
  def num_transitions(self) -> int:
    return int(np.sum(self.next_row >= 0))

  def transition_rows(self) -> np.ndarray:
    """Rows r that are transitions (s_r, a_r, s'_r)."""
    return np.flatnonzero(self.next_row >= 0).astype(np.int32)

  def window_starts(self, length: int) -> np.ndarray:
    """Rows r such that rows r .. r+length-1 are `length` consecutive transitions of
    one episode (a window of length+1 states). Windows never cross an episode end."""
    if length < 1:
      raise ValueError(f'window length must be at least 1, got {length}')
    valid = self.next_row >= 0
    # Row r continues into row r+1 if it is a transition that does not end its episode.
    continues = valid & ~self.episode_end
    n = len(valid) - length + 1
    if n <= 0:
      return np.zeros([0], np.int32)
    ok = valid[:n].copy()
    for k in range(length - 1):
      ok &= continues[k:k + n] & valid[k + 1:k + 1 + n]
    return np.flatnonzero(ok).astype(np.int32)

  def first_transitions(self, n: int) -> 'Dataset':
    """The dataset cut after its first `n` transitions (the expert subset D*)."""
    rows = self.transition_rows()
    if n > len(rows):
      raise DataError(f'{self.source}: asked for the first {n} transitions, the data has '
                      f'only {len(rows)}.')
    cut = int(rows[n - 1]) + 1
    next_row = self.next_row[:cut].copy()
    beyond = next_row >= cut  # Next observations stored past the cut are moved up.
    observations = np.concatenate([self.observations[:cut],
                                   self.observations[next_row[beyond]]])
    next_row[beyond] = cut + np.arange(int(beyond.sum()), dtype=np.int32)
    return Dataset(observations, self.actions[:cut], next_row, self.episode_end[:cut],
                   f'{self.source}[:{n}]')

  def contact_dims_all_zero(self, dims: tuple[int, int] | None) -> bool:
    """Whether observation dimensions [lo, hi) are zero everywhere (D4RL ant files)."""
    return dims is not None and not np.any(self.observations[:, dims[0]:dims[1]])


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype | type = np.float32,
                  alignment: int = 64) -> np.ndarray:
  """An uninitialised C-contiguous array whose data start on an `alignment`-byte boundary.

  TensorFlow can then take the array as a tensor without copying it (DLPack).
  """
  size = int(np.prod(shape)) * np.dtype(dtype).itemsize
  buffer = np.empty(size + alignment, np.uint8)
  offset = (-buffer.ctypes.data) % alignment
  return buffer[offset:offset + size].view(dtype).reshape(shape)


def _structure(terminals: np.ndarray, timeouts: np.ndarray, mismatch: np.ndarray | None):
  """next_row, episode_end and the rows whose next observation is stored apart.

  `mismatch[r]` says that next_observations[r] differs from observations[r+1]; None
  when the file has no next_observations. Terminal rows, the last row of the file
  and mismatched rows take their next observation from next_observations (appended
  to the observation table) or, without it, are no transition. The last step of a
  timed-out episode is no transition, as in D4RL.
  """
  rows = len(terminals)
  next_row = np.arange(1, rows + 1, dtype=np.int32)
  elsewhere = terminals.copy()
  if rows:
    elsewhere[-1] = True
  extra_rows = np.zeros([0], np.int64)
  if mismatch is not None:
    elsewhere |= mismatch
    elsewhere &= ~timeouts
    extra_rows = np.flatnonzero(elsewhere)
    next_row[extra_rows] = rows + np.arange(len(extra_rows), dtype=np.int32)
  else:
    next_row[elsewhere] = -1
  next_row[timeouts] = -1
  # Windows stop wherever the next observation is not the following row.
  return next_row, terminals | timeouts | elsewhere, extra_rows


def from_arrays(observations: np.ndarray, actions: np.ndarray, terminals: np.ndarray,
                timeouts: np.ndarray | None = None,
                next_observations: np.ndarray | None = None, source: str = '') -> Dataset:
  """Builds a Dataset from D4RL arrays in memory, following D4RL's episode conventions."""
  rows = len(actions)
  observations = np.asarray(observations, np.float32)
  terminals = np.asarray(terminals, bool)
  timeouts = np.zeros(rows, bool) if timeouts is None else np.asarray(timeouts, bool)
  mismatch = None
  if next_observations is not None:
    next_observations = np.asarray(next_observations, np.float32)
    mismatch = np.zeros(rows, bool)
    mismatch[:-1] = np.any(next_observations[:-1] != observations[1:], axis=1)
  next_row, episode_end, extra_rows = _structure(terminals, timeouts, mismatch)
  table = aligned_empty((rows + len(extra_rows), observations.shape[1]))
  table[:rows] = observations
  if len(extra_rows):
    table[rows:] = next_observations[extra_rows]
  return Dataset(table, np.asarray(actions, np.float32), next_row, episode_end, source)


def d4rl_dataset_dir() -> str:
  return os.path.expanduser(os.environ.get('D4RL_DATASET_DIR', '~/.d4rl/datasets'))


# AntMaze files are named after how they were collected (d4rl/infos.py download URLs).
_ANTMAZE_FILES = {'umaze': ('u-maze', False, False), 'umaze-diverse': ('u-maze', True, True),
                  'medium-play': ('big-maze', True, False),
                  'medium-diverse': ('big-maze', True, True),
                  'large-play': ('hardest-maze', True, False),
                  'large-diverse': ('hardest-maze', True, True)}


def d4rl_file_name(name: str) -> str:
  """File name D4RL downloads a dataset to: 'hopper-medium-v2' -> 'hopper_medium-v2.hdf5'."""
  parsed = names.parse(name)
  if parsed.source != 'd4rl':
    raise DataError(f'{name!r} is not a D4RL dataset name (expected e.g. hopper-medium-v2).')
  env, kind, version = name.split('-', 1)[0], parsed.kind, parsed.version
  if env == 'antmaze' and kind in _ANTMAZE_FILES and version in (0, 2):
    maze, multistart, multigoal = _ANTMAZE_FILES[kind]
    suffix = '_fixed' if version == 2 else ''
    return (f'Ant_maze_{maze}_noisy_multistart_{multistart}_multigoal_{multigoal}_sparse'
            f'{suffix}.hdf5')
  if version == 0:
    kind = 'mixed' if kind == 'medium-replay' else kind
    return f'{env}_{kind.replace("-", "_")}.hdf5'
  return f'{env}_{kind.replace("-", "_")}-v{version}.hdf5'


def resolve_path(name_or_path: str) -> str:
  """A path as given, or the HDF5 file of a D4RL name under $D4RL_DATASET_DIR."""
  if names.is_path(name_or_path):
    if not os.path.exists(name_or_path):
      raise DataError(f'Dataset file {name_or_path} does not exist.')
    if os.path.isdir(name_or_path):
      raise DataError(f'{name_or_path} is a directory; expected a D4RL-format HDF5 file.')
    return name_or_path
  path = os.path.join(d4rl_dataset_dir(), d4rl_file_name(name_or_path))
  if not os.path.exists(path):
    raise DataError(f'D4RL dataset {name_or_path!r} not found: expected the file {path} '
                    f'($D4RL_DATASET_DIR={d4rl_dataset_dir()}). Download it where you have '
                    'internet access, or use a generated dataset (gen:<task>-<kind>).')
  return path


_CHUNK_ROWS = 65_536  # Rows per read when a file is streamed.


def _open(path: str) -> h5py.File:
  try:
    f = h5py.File(path, 'r')
  except OSError as e:
    raise DataError(f'{path} is not a readable HDF5 file: {e}') from None
  groups = [k for k in REQUIRED_KEYS + ('timeouts', 'next_observations')
            if k in f and isinstance(f[k], h5py.Group)]
  if groups:
    members = sorted(f[groups[0]].keys())
    f.close()
    raise DataError(f'{path}: key {groups[0]!r} is an HDF5 group (holding {members}); '
                    'expected an array.')
  missing = [k for k in REQUIRED_KEYS if k not in f]
  if missing:
    found = sorted(f.keys())
    f.close()
    raise DataError(f'{path} lacks the key(s) {missing}; a D4RL-format file needs '
                    f'{list(REQUIRED_KEYS)} (and usually timeouts). Found: {found}.')
  rows = len(f['actions'])
  problem = None
  for key in ('observations', 'actions', 'rewards', 'terminals', 'timeouts', 'next_observations'):
    if key not in f:
      continue
    if len(f[key]) != rows:
      problem = f'{path}: key {key!r} has {len(f[key])} rows, actions has {rows}.'
    elif key in ('observations', 'actions', 'next_observations') and f[key].ndim != 2:
      problem = f'{path}: key {key!r} should be 2-D [rows, dim], has shape {f[key].shape}.'
    if problem:
      f.close()
      raise DataError(problem)
  return f


# Observations enter the networks unnormalized: beyond this size their squares and
# products overflow float32 in the first layers and every loss turns NaN.
MAX_OBSERVATION = 1e6


def check_values(path: str, key: str, values: np.ndarray, first_row: int = 0) -> None:
  """Refuses NaN or inf, and observations beyond +-MAX_OBSERVATION, naming the first row."""
  if values.dtype.kind != 'f' or not values.size:
    return
  rows = values.reshape(len(values), -1)
  if not np.all(np.isfinite(values)):
    bad = int(np.flatnonzero(~np.all(np.isfinite(rows), axis=1))[0])
    raise DataError(f'{path}: key {key!r} holds NaN or inf (first at row {first_row + bad}).')
  if 'observations' in key and np.max(np.abs(values)) > MAX_OBSERVATION:
    bad = int(np.flatnonzero(np.max(np.abs(rows), axis=1) > MAX_OBSERVATION)[0])
    raise DataError(f'{path}: key {key!r} holds values beyond +-{MAX_OBSERVATION:.0e} (first at '
                    f'row {first_row + bad}: {rows[bad][np.argmax(np.abs(rows[bad]))]:.3g}); the '
                    'networks take raw observations, which would overflow: rescale the data.')


def read_hdf5(path: str) -> dict[str, np.ndarray]:
  """Reads every array of a D4RL-format file, checking keys, lengths and values."""
  with _open(path) as f:
    keys = [k for k in ('observations', 'actions', 'rewards', 'terminals', 'timeouts',
                        'next_observations') if k in f]
    arrays = {k: f[k][:] for k in keys}
  for key, value in arrays.items():
    check_values(path, key, value)
  return arrays


def load(name_or_path: str) -> Dataset:
  """Loads a D4RL-format file by path or D4RL name, streaming it in chunks.

  Only the observation table, actions and flags are kept; next_observations is
  compared chunk by chunk, so the peak memory stays near the kept arrays.
  """
  path = resolve_path(name_or_path)
  with _open(path) as f:
    rows = len(f['actions'])
    obs_data, has_next = f['observations'], 'next_observations' in f
    terminals = f['terminals'][:].astype(bool)
    timeouts = f['timeouts'][:].astype(bool) if 'timeouts' in f else np.zeros(rows, bool)
    actions = f['actions'][:].astype(np.float32)
    check_values(path, 'actions', actions)
    mismatch = np.zeros(rows, bool) if has_next else None
    for start in range(0, rows, _CHUNK_ROWS):
      stop = min(start + _CHUNK_ROWS, rows)
      chunk = obs_data[start:min(stop + 1, rows)].astype(np.float32)
      check_values(path, 'observations', chunk, start)
      if has_next:
        following = f['next_observations'][start:stop].astype(np.float32)
        check_values(path, 'next_observations', following, start)
        n = len(chunk) - 1  # Rows of this chunk that have a following row.
        mismatch[start:start + n] = np.any(following[:n] != chunk[1:], axis=1)
    next_row, episode_end, extra_rows = _structure(terminals, timeouts, mismatch)
    table = aligned_empty((rows + len(extra_rows), obs_data.shape[1]))
    if obs_data.dtype == np.float32:
      obs_data.read_direct(table, dest_sel=np.s_[:rows])
    else:
      for start in range(0, rows, _CHUNK_ROWS):
        table[start:start + _CHUNK_ROWS] = obs_data[start:min(start + _CHUNK_ROWS, rows)]
    if len(extra_rows):
      table[rows:] = f['next_observations'][extra_rows]
  return Dataset(table, actions, next_row, episode_end, path)


def read_metadata(path: str) -> dict[str, object]:
  """The metadata/* attributes and datasets of a file, as plain Python values."""
  out = {}
  try:
    f = h5py.File(path, 'r')
  except OSError as e:
    raise DataError(f'{path} is not a readable HDF5 file: {e}') from None
  with f:
    if 'metadata' in f:
      for key, value in f['metadata'].items():
        value = value[()]
        out[key] = value.decode() if isinstance(value, bytes) else value
  return out


def write_hdf5(path: str, arrays: dict[str, np.ndarray], metadata: dict | None = None) -> None:
  """Writes a D4RL-format file atomically: a temporary file renamed into place.

  `arrays` maps D4RL keys (observations, ..., 'infos/qpos') to arrays; metadata values
  are stored under metadata/ (dicts and lists as JSON strings).
  """
  missing = [k for k in REQUIRED_KEYS if k not in arrays]
  if missing:
    raise DataError(f'cannot write {path}: missing key(s) {missing}')
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp{os.getpid()}'
  try:
    with h5py.File(tmp, 'w') as f:
      for key, value in arrays.items():
        f.create_dataset(key, data=value)
      for key, value in (metadata or {}).items():
        if isinstance(value, (dict, list, tuple)):
          value = json.dumps(value)
        f.create_dataset(f'metadata/{key}', data=value)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
