"""A run's settings: RunConfig, its validation, and which fields define a run directory."""

from __future__ import annotations

import dataclasses
import math

from rl_repr_trail.core import errors
from rl_repr_trail.methods import method_configs
from rl_repr_trail.methods import registry


# clips, shared temperature, sampled acting, ...) have no 'defaults' key in config.json.
DEFAULTS_VERSION = 2


# How a run spreads over devices: the default strategy, all local devices (mirrored),
# or hosts from TF_CONFIG (multi_worker); core/devices.py makes the strategy.
DISTRIBUTIONS = ('none', 'mirrored', 'multi_worker')

# RunConfig fields whose train_eval flag has another name; every other field is its flag.
FLAG_NAMES = {'task': 'env'}


class ConfigError(errors.InputError):
  """A setting that cannot work, with the flag it came from."""


def _schedule(default):
  """A field outside the run directory's identity: how long, how often, where and on
  what a run trains may change when it is resumed (e.g. more steps, a lower rate after a
  divergence); every other field defines what the directory holds."""
  return dataclasses.field(default=default, metadata={'identity': False})


@dataclasses.dataclass
class RunConfig:
  """Every setting of a run. A setting of a method's learners takes its default from that
  learner's config class, so each default is written once."""

  offline_data: str | None = None
  expert_data: str | None = None
  task: str | None = None
  embed_learner: str = 'trail_ebm'
  downstream: str = 'latent_bc'
  expert_size: int = 10_000
  embed_dim: int = method_configs.TrailConfig.embed_dim
  fourier_dim: int = 256            # D of TRAIL linear (TrailConfig's 0 is TRAIL EBM).
  window: int = method_configs.SkillConfig.window
  skill_dim: int = method_configs.SkillConfig.latent_dim
  hidden: tuple[int, ...] = method_configs.HIDDEN
  pretrain_steps: int = _schedule(200_000)
  downstream_steps: int = _schedule(1_000_000)
  batch_size: int = 256
  # None: the learner's config default (TrailConfig, SkillConfig; LatentBCConfig, BCConfig).
  embed_learning_rate: float | None = _schedule(None)
  downstream_learning_rate: float | None = _schedule(None)
  finetune_decoder: bool = method_configs.LatentBCConfig.finetune_decoder
  # The learned-temperature entropy term on the tanh-Gaussian policies (TRAIL's decoder in
  # both phases, BC's policy, the OPAL and SPiRL decoders downstream), as in the paper and
  # the original code; False is the ablation (docs/results.md, "Entropy term").
  entropy_term: bool = method_configs.TrailConfig.entropy_term
  # How latent BC acts: z sampled from pi_Z(s) (the original code) or its mean (the paper).
  latent_action: str = method_configs.LatentBCConfig.latent_action
  eval_interval: int = _schedule(10_000)
  eval_episodes: int = _schedule(10)
  log_interval: int = _schedule(1_000)
  checkpoint_interval: int = _schedule(10_000)
  seed: int = 0
  save_dir: str | None = _schedule(None)
  # none, mirrored (local devices), multi_worker (TF_CONFIG).
  distribution: str = _schedule('none')

  @property
  def spec(self) -> registry.Method:
    """The registry's method of --embed_learner and --downstream (validate() checks it)."""
    return registry.from_flags(self.embed_learner, self.downstream)

  @property
  def label(self) -> str:
    return self.spec.label

  def identity(self) -> dict:
    """The fields that define what a run directory holds; a rerun must agree on them."""
    return {k: v for k, v in dataclasses.asdict(self).items() if k in IDENTITY}


IDENTITY = tuple(f.name for f in dataclasses.fields(RunConfig)
                 if f.metadata.get('identity', True))


def validate(config: RunConfig) -> None:
  """Checks the settings on their own, before any data is read or file written."""
  if config.embed_learner not in registry.embed_learners():
    raise ConfigError(f'--embed_learner={config.embed_learner}: expected one of '
                      f'{registry.embed_learners()}.')
  if config.downstream not in registry.downstreams():
    raise ConfigError(f'--downstream={config.downstream}: expected one of '
                      f'{registry.downstreams()}.')
  method = config.spec
  if method is None:
    pairs = ', '.join(f'{m.embed_learner} with {m.downstream}' for m in registry.METHODS.values())
    raise ConfigError(
        f'--embed_learner={config.embed_learner} with --downstream={config.downstream} is not a '
        f'method; the methods are {pairs}.')
  positive = ['expert_size', 'embed_dim', 'downstream_steps', 'batch_size', 'eval_interval',
              'eval_episodes', 'log_interval', 'checkpoint_interval', *method.positive]
  if method.pretrains:
    positive.append('pretrain_steps')
  for name in positive:
    if getattr(config, name) <= 0:
      raise ConfigError(f'--{name} must be positive, got {getattr(config, name)}.')
  for name in ('embed_learning_rate', 'downstream_learning_rate'):
    rate = getattr(config, name)
    if rate is not None and not (isinstance(rate, (int, float)) and math.isfinite(rate)
                                 and rate > 0):
      raise ConfigError(f'--{name}={rate}: expected a finite positive rate.')
  if config.latent_action not in method_configs.LATENT_ACTIONS:
    raise ConfigError(f'--latent_action={config.latent_action}: expected one of '
                      f'{method_configs.LATENT_ACTIONS}.')
  if config.distribution not in DISTRIBUTIONS:
    raise ConfigError(f'--distribution={config.distribution}: expected one of '
                      f'{DISTRIBUTIONS}.')
  if config.expert_data is None:
    raise ConfigError('--expert_data is required: a D4RL name, a generated name or an HDF5 path.')
  if method.pretrains and config.offline_data is None:
    raise ConfigError(f'--offline_data is required with --embed_learner={config.embed_learner}.')
