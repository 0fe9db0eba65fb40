"""z = a: pretraining fits the decoder to the offline actions."""

import numpy as np
import tensorflow as tf

from rl_repr_trail.core import learner
from rl_repr_trail.core import policies
from rl_repr_trail.core import replicas


class ActionAsLatent(learner.Learner):
  """What latent BC reads of an embedding (latent_bc.LatentEmbedding): latent_dim,
  decoder, temperature and embed(s, a)."""

  def __init__(self, obs_dim: int, low: np.ndarray, high: np.ndarray, hidden, rate: float,
               seed: int):
    super().__init__('action_as_latent', seed)
    self.latent_dim = len(low)
    self.decoder = policies.TanhGaussianPolicy(obs_dim + self.latent_dim, low, high, hidden,
                                               name='decoder')
    self.temperature = policies.Temperature(self.latent_dim, rate, enabled=False)
    self.build_optimizer(rate)

  @property
  def trained_variables(self) -> list[tf.Variable]:
    return self.decoder.trainable_variables

  def checkpointed(self) -> dict:
    return {'decoder': self.decoder, 'temperature': self.temperature,
            'optimizer': self.optimizer, 'updates': self.updates}

  def embed(self, observations, actions) -> tf.Tensor:
    return tf.convert_to_tensor(actions, tf.float32)

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    obs, actions = batch['observations'], batch['actions']
    with tf.GradientTape() as tape:
      distribution = self.decoder(tf.concat([obs, actions], axis=-1))
      loss = -replicas.global_mean(self.decoder.log_prob(distribution, actions))
    self.apply_gradients(tape, loss)
    return self.finish({'loss': loss})
