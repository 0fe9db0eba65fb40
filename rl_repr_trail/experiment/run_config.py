"""A run's settings: RunConfig (method, data, schedule, seed, run directory, distribution,
and the method's own config dataclasses), the flags made from its fields, its validation
and the identity of a run directory.

Every setting has one flag, named as its field (or as its field's `flag`); a flag that
several config classes share (--hidden, --entropy_term, the rates) sets each of them.
Flags, the sweep's settings and saved config.json files are read with from_settings.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from typing import Any

from rl_repr_trail.core import errors
from rl_repr_trail.core import settings
from rl_repr_trail.core.settings import setting
from rl_repr_trail.methods import registry


# The defaults' version, saved in config.json: a run made with other defaults (version 1,
# before the original code's clips, shared temperature, sampled acting, ...) is not resumed.
DEFAULTS_VERSION = 2

# How a run spreads over devices: the default strategy, all local devices (mirrored),
# or hosts from TF_CONFIG (multi_worker); core/devices.py makes the strategy.
DISTRIBUTIONS = ('none', 'mirrored', 'multi_worker')


class ConfigError(errors.InputError):
  """A setting that cannot work, with the flag it came from."""


@dataclasses.dataclass
class DataConfig:
  offline_data: str | None = setting(None, 'Offline data D_off: a D4RL name, a generated '
                                     'name (gen:TASK-KIND-ROWS), a Minari id or an HDF5 path.')
  expert_data: str | None = setting(None, 'Expert data D*, named as --offline_data.')
  task: str | None = setting(None, 'Task; default: from the data.', flag='env')
  expert_size: int = setting(10_000, 'N: the first N expert transitions.')


@dataclasses.dataclass
class Schedule:
  """How long and how often a run trains: a resumed run may change them (e.g. more steps)."""

  pretrain_steps: int = setting(200_000, 'Embedding learner steps.', identity=False)
  downstream_steps: int = setting(1_000_000, 'Downstream steps.', identity=False)
  eval_interval: int = setting(10_000, 'Steps between evaluations.', identity=False)
  eval_episodes: int = setting(10, 'Episodes per evaluation.', identity=False)
  log_interval: int = setting(1_000, 'Steps between summaries.', identity=False)
  checkpoint_interval: int = setting(10_000, 'Steps between checkpoints.', identity=False)


@dataclasses.dataclass
class RunConfig:
  """Every setting of a run. `embedding` and `downstream` are the method's config
  dataclasses (registry.Method.embedding_config, downstream_config; None: the method does
  not pretrain), made with their defaults when not given."""

  method: str = setting('trail_ebm', 'The method: ' + ', '.join(
      f'{m.name} ({m.label})' for m in registry.METHODS.values()) + ', or the import path '
      'of a Method defined elsewhere (package.module.ATTR; docs/usage.md, "Adding a method").',
      choices=registry.names)
  data: DataConfig = dataclasses.field(default_factory=DataConfig)
  schedule: Schedule = dataclasses.field(default_factory=Schedule)
  embedding: Any = None
  downstream: Any = None
  batch_size: int = setting(256, 'Batch size of both phases.')
  seed: int = setting(0, 'Random seed.')
  save_dir: str | None = setting(None, 'Run directory (default runs/TASK/METHOD/seedN).',
                                 identity=False)
  distribution: str = setting(
      'none', 'tf.distribute: none, mirrored (all local devices) or multi_worker (hosts '
      'from TF_CONFIG). The batch is global and split among replicas.', identity=False,
      choices=DISTRIBUTIONS)
  resume_changed: bool = setting(
      False, 'Resume a run directory with changed learning rates or decay steps (e.g. a '
      'lower rate after a divergence); each change is appended to its config.json\'s '
      'history. Without it a run directory made with other settings is refused.',
      identity=False)

  def __post_init__(self):
    method = registry.find(self.method)
    if method is None:
      return  # validate() names the method's flag.
    if self.embedding is None and method.pretrains:
      self.embedding = method.embedding_config(**method.embedding_preset)
    if self.downstream is None:
      self.downstream = method.downstream_config(**method.downstream_preset)

  @property
  def spec(self) -> registry.Method:
    return registry.get(self.method)

  @property
  def label(self) -> str:
    return self.spec.label

  def identity(self) -> dict[str, Any]:
    """{dotted field path: value} of the fields that define what a run directory holds;
    a rerun must agree on them."""
    return {path: value for path, (field, value) in leaves(self).items()
            if settings.in_identity(field)}

  def flags(self) -> dict[str, Any]:
    """{flag: value} of every setting this run has (its train_eval command line); the
    fields its method fixes have no flag."""
    known = all_flags()
    return {settings.flag_name(field): value for field, value in leaves(self).values()
            if settings.flag_name(field) in known}


def identity_flags(config: RunConfig) -> set[str]:
  """The flags of `config` that are part of its run directory's identity."""
  return {settings.flag_name(field) for field, _ in leaves(config).values()
          if settings.in_identity(field)}


def changeable_flags(config: RunConfig) -> set[str]:
  """The flags of `config` that a resume may change when asked (--resume_changed)."""
  return {settings.flag_name(field) for field, _ in leaves(config).values()
          if settings.changeable(field)}


def identity_diff(saved: RunConfig, asked: RunConfig) -> dict[str, tuple[Any, Any]]:
  """{flag: (saved, asked)} of the identity fields on which two runs differ (a field
  without a flag by its path), as JSON holds them."""
  theirs, ours = (json.loads(json.dumps(c.identity())) for c in (saved, asked))
  known = all_flags()
  names = {path: settings.flag_name(field) for c in (saved, asked)
           for path, (field, _) in leaves(c).items() if settings.flag_name(field) in known}
  return {names.get(k, k): (theirs.get(k), ours.get(k)) for k in {**theirs, **ours}
          if theirs.get(k) != ours.get(k)}


def _groups(config: RunConfig) -> dict[str, Any]:
  """The run's settings dataclasses by path ('' for RunConfig's own fields)."""
  groups = {'': config, 'data': config.data, 'schedule': config.schedule,
            'embedding': config.embedding, 'downstream': config.downstream}
  return {path: group for path, group in groups.items() if group is not None}


def leaves(config: RunConfig) -> dict[str, tuple[dataclasses.Field, Any]]:
  """{dotted field path: (field, value)} of every setting of `config`."""
  out = {}
  for path, group in _groups(config).items():
    for field in dataclasses.fields(group):
      if 'help' in field.metadata:
        out[f'{path}.{field.name}' if path else field.name] = (field, getattr(group, field.name))
  return out


@dataclasses.dataclass(frozen=True)
class Flag:
  """One train_eval flag: its name, default, help, value type and choices."""

  name: str
  default: Any          # None where the classes sharing it differ (e.g. the rates).
  help: str
  type: Any             # bool, int, float, str or tuple (a list of integers).
  choices: tuple[str, ...] | None


def _config_classes() -> list[type]:
  classes = [RunConfig, DataConfig, Schedule]
  for method in registry.METHODS.values():
    classes += [c for c in (method.embedding_config, method.downstream_config) if c]
  return list(dict.fromkeys(classes))


def _fixed(cls: type) -> set[str]:
  """Fields of `cls` that every method using it fixes (its preset): they have no flag."""
  presets = [set(preset) for m in registry.METHODS.values()
             for config, preset in ((m.embedding_config, m.embedding_preset),
                                    (m.downstream_config, m.downstream_preset))
             if config is cls]
  return set.intersection(*presets) if presets else set()


def _base_type(hint) -> Any:
  args = [a for a in typing.get_args(hint) if a is not type(None)]
  if typing.get_origin(hint) is tuple:
    return tuple
  return _base_type(args[0]) if args else hint


def all_flags() -> dict[str, Flag]:
  """Every train_eval flag that sets a field, in the order of the config classes."""
  found: dict[str, list[tuple[type, dataclasses.Field, Any]]] = {}
  for cls in _config_classes():
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
      if 'help' in field.metadata and field.name not in _fixed(cls):
        found.setdefault(settings.flag_name(field), []).append(
            (cls, field, _base_type(hints[field.name])))
  out = {}
  for name, entries in found.items():
    if len({kind for _, _, kind in entries}) > 1:
      raise TypeError(f'--{name}: its fields have different types: {entries}.')
    defaults = [field.default for _, field, _ in entries]
    shared = all(d == defaults[0] for d in defaults)
    text = entries[0][1].metadata['help']
    if not shared:
      text += ' Default: ' + ', '.join(
          f'{field.default:g} for {_users(cls)}' for cls, field, _ in entries) + '.'
    choices = entries[0][1].metadata['choices']
    out[name] = Flag(name, defaults[0] if shared else None, text, entries[0][2],
                     choices() if callable(choices) else choices)
  return out


def _users(cls: type) -> str:
  return '/'.join(m.name for m in registry.METHODS.values()
                  if cls in (m.embedding_config, m.downstream_config))


def _make(cls: type, value_of, preset: dict | None = None):
  """A `cls` from value_of(field) (absent: a missing key or None), then `preset`."""
  hints = typing.get_type_hints(cls)
  fields = {}
  for field in dataclasses.fields(cls):
    value = value_of(field) if 'help' in field.metadata else None
    if value is not None:
      fields[field.name] = tuple(value) if _base_type(hints[field.name]) is tuple else value
  return cls(**{**fields, **(preset or {})})


def from_settings(values: dict[str, Any]) -> RunConfig:
  """The RunConfig of {flag: value} (train_eval's flags, a sweep's settings); absent or
  None values take their defaults. A flag shared by several classes sets each of them."""
  unknown = sorted(set(values) - set(all_flags()))
  if unknown:
    raise ConfigError(f'unknown settings {unknown}; expected some of {sorted(all_flags())}.')
  return _assemble(lambda part: lambda field: values.get(settings.flag_name(field)),
                   values.get('method'))


def _assemble(source, method_name: str | None) -> RunConfig:
  """A RunConfig whose group at `part` ('', 'data', ...) takes source(part)(field)."""
  method = _method(method_name or RunConfig.method)
  top = _make(RunConfig, source(''))
  return dataclasses.replace(
      top, method=method.name, data=_make(DataConfig, source('data')),
      schedule=_make(Schedule, source('schedule')),
      embedding=_make(method.embedding_config, source('embedding'), method.embedding_preset)
      if method.pretrains else None,
      downstream=_make(method.downstream_config, source('downstream'), method.downstream_preset))


def _method(name: str) -> registry.Method:
  try:
    return registry.get(name)
  except KeyError as e:
    raise ConfigError(f'--method={name}: {e.args[0]}') from None


def replace(config: RunConfig, **values) -> RunConfig:
  """`config` with some settings changed, named by their flags (e.g. pretrain_steps=...)."""
  return from_settings({**config.flags(), **values})


def from_saved(saved: dict) -> RunConfig:
  """The RunConfig a config.json holds now: its settings as first saved with the changes
  of its 'history' applied in order. Nested, or flat (made before the nesting: its fields
  were the flags, --env as 'task', the method as its --embed_learner/--downstream pair).
  Fields added since read as their defaults; fields removed since are ignored."""
  config = _from_saved_settings(saved)
  if saved.get('history'):
    values = config.flags()
    for change in saved['history']:
      values[change['setting']] = change['new']
    config = from_settings(values)
  return config


def _from_saved_settings(saved: dict) -> RunConfig:
  if 'data' in saved:
    return _assemble(lambda part: lambda field: (saved.get(part) or {} if part else saved)
                     .get(field.name), saved.get('method'))
  method = registry.from_flags(saved.get('embed_learner', 'trail_ebm'),
                               saved.get('downstream', 'latent_bc'))
  values = dict(saved, env=saved.get('task'), method=method.name if method else None)
  known = all_flags()
  return from_settings({k: v for k, v in values.items() if k in known})


def validate(config: RunConfig) -> None:
  """Checks the settings on their own, before any data is read or file written."""
  method = _method(config.method)
  for part, cls in (('embedding', method.embedding_config),
                    ('downstream', method.downstream_config)):
    if (getattr(config, part) is None) != (cls is None) or (
        cls is not None and not isinstance(getattr(config, part), cls)):
      raise ConfigError(f'{method.name} needs its {part} settings as '
                        f'{cls.__name__ if cls else None}, got {getattr(config, part)!r}.')
  values = config.flags()
  positive = ['expert_size', 'downstream_steps', 'batch_size', 'eval_interval',
              'eval_episodes', 'log_interval', 'checkpoint_interval', *method.positive]
  if method.pretrains:
    positive += ['pretrain_steps'] + (['embed_dim'] if 'embed_dim' in values else [])
  for name in positive:
    if values[name] <= 0:
      raise ConfigError(f'--{name} must be positive, got {values[name]}.')
  for name in ('embed_learning_rate', 'downstream_learning_rate'):
    rate = values.get(name)
    if rate is not None and not (isinstance(rate, (int, float)) and math.isfinite(rate)
                                 and rate > 0):
      raise ConfigError(f'--{name}={rate}: expected a finite positive rate.')
  for name, flag in all_flags().items():
    if flag.choices and name in values and values[name] not in flag.choices:
      raise ConfigError(f'--{name}={values[name]}: expected one of {flag.choices}.')
  if config.data.expert_data is None:
    raise ConfigError('--expert_data is required: a D4RL name (hopper-expert-v2), a generated '
                      'name (gen:hopper-expert), a Minari id (minari:mujoco/hopper/expert-v0) '
                      'or an HDF5 path.')
  if method.pretrains and config.data.offline_data is None:
    raise ConfigError(f'--offline_data is required with --method={method.name}.')
