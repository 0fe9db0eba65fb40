"""A seventh method in one module, as docs/usage.md shows: 'action as latent'.

Its embedding is the action itself (z = a), so pretraining only fits the action decoder
pi(a | s, z) by maximum likelihood, and latent BC then imitates z* = a* with pi_Z. It
shows the contract (latent_bc.LatentEmbedding, registry.Method), not a useful method.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from rl_repr_trail.core import learner
from rl_repr_trail.core import policies
from rl_repr_trail.core import replicas
from rl_repr_trail.core.settings import setting
from rl_repr_trail.methods import builders
from rl_repr_trail.methods import method_configs
from rl_repr_trail.methods import registry


class ActionAsLatent(learner.Learner):
  """z = a; `update(batch)` fits the decoder to the offline actions."""

  def __init__(self, obs_dim: int, low: np.ndarray, high: np.ndarray, hidden, rate: float):
    super().__init__('action_as_latent', seed=0)
    self.latent_dim = len(low)
    self.decoder = policies.TanhGaussianPolicy(obs_dim + self.latent_dim, low, high, hidden,
                                               name='decoder')
    self.temperature = policies.Temperature(self.latent_dim, rate, enabled=False)
    self.build_optimizer(rate)

  @property
  def trained_variables(self) -> list[tf.Variable]:
    return self.decoder.trainable_variables

  def embed(self, observations, actions) -> tf.Tensor:
    return tf.convert_to_tensor(actions, tf.float32)

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    obs, actions = batch['observations'], batch['actions']
    with tf.GradientTape() as tape:
      distribution = self.decoder(tf.concat([obs, actions], axis=-1))
      loss = -replicas.global_mean(self.decoder.log_prob(distribution, actions))
    self.apply_gradients(tape, loss)
    return self.finish({'loss': loss})


@dataclasses.dataclass
class ToyConfig:
  """Its settings: each field a train_eval flag (shared by name with the other methods')."""

  hidden: tuple[int, ...] = setting(method_configs.HIDDEN, 'Hidden layer sizes of every MLP.')
  learning_rate: float = setting(1e-3, 'Pretraining Adam rate.', flag='embed_learning_rate',
                                 identity=False)


def make_embedding(config, task, low, high) -> ActionAsLatent:
  return ActionAsLatent(task.obs_dim, low, high, config.embedding.hidden,
                        config.embedding.learning_rate)


METHOD = registry.Method(
    name='action_latent', label='Action latent', family='other', embed_learner='action_latent',
    downstream='latent_bc', make_downstream=builders.build_latent_bc,
    downstream_config=method_configs.LatentBCConfig,
    make_embedding=make_embedding, embedding_config=ToyConfig)
