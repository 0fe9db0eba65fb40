"""Latent BC: imitates an embedding's expert latent actions with pi_Z and decodes
them with its action decoder."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import tensorflow as tf

from rl_repr_trail.core import acting
from rl_repr_trail.core import learner
from rl_repr_trail.core import policies
from rl_repr_trail.core import replicas
from rl_repr_trail.data import datasets
from rl_repr_trail.methods.latent_bc import config as latent_bc_config


class LatentEmbedding(Protocol):
  """What latent BC reads of a pretrained embedding (trail.TrailLearner is one)."""

  latent_dim: int
  decoder: policies.TanhGaussianPolicy     # pi_alpha(a | s, z), fine-tuned downstream.
  temperature: policies.Temperature        # Its log_alpha continues downstream.

  def embed(self, observations: np.ndarray, actions: np.ndarray) -> tf.Tensor:
    """z = phi(s, a) for a batch of transitions."""


class LatentPolicyLearner(learner.Learner):
  """A downstream learner of a latent policy pi_Z(z | s) over a pretrained decoder's
  latents; the decoder is fine-tuned with it unless `config.finetune_decoder` is off."""

  def __init__(self, name: str, seed: int, config: latent_bc_config.LatentBCConfig,
               decoder: policies.TanhGaussianPolicy, obs_dim: int, latent_dim: int):
    super().__init__(name, seed)
    self.config = config
    self.decoder = decoder
    self.latent_policy = policies.GaussianLatentPolicy(obs_dim, latent_dim, config.hidden)

  @property
  def trained_variables(self) -> list[tf.Variable]:
    variables = list(self.latent_policy.trainable_variables)
    if self.config.finetune_decoder:
      variables += self.decoder.trainable_variables
    return variables

  def checkpointed(self) -> dict[str, tf.Module | tf.Variable]:
    """The latent policy, the (fine-tuned) decoder, the optimizers and the counter; the
    subclass adds its embedding, whose decoder this is."""
    return {'latent_policy': self.latent_policy, 'decoder': self.decoder,
            'temperature': self.temperature, 'optimizer': self.optimizer,
            'updates': self.updates}


class LatentBC(LatentPolicyLearner):
  """Imitates expert latent actions z* = phi(s, a*) with pi_Z and decodes them with pi_alpha.

  phi is frozen, so z* is computed once for the whole expert data (`targets`) and
  given in each batch under 'latents'. The decoder is fine-tuned unless disabled. The
  decoder's temperature is pretraining's log_alpha, continued at this phase's rate.
  """

  def __init__(self, embedding: LatentEmbedding, obs_dim: int, action_dim: int,
               config: latent_bc_config.LatentBCConfig, seed: int = 0):
    super().__init__('latent_bc', seed, config, embedding.decoder, obs_dim,
                     embedding.latent_dim)
    self.embedding = embedding
    self.temperature = policies.Temperature(action_dim, config.learning_rate,
                                            config.entropy_term,
                                            log_alpha=embedding.temperature.log_alpha)
    self.build_optimizer(config.learning_rate)

  def checkpointed(self) -> dict[str, tf.Module | tf.Variable]:
    return {**super().checkpointed(), 'embedding': self.embedding}

  def expert_targets(self, expert: datasets.Dataset) -> dict[str, np.ndarray]:
    """Each expert transition's z* (the sampler's 'latents')."""
    rows = expert.transition_rows()
    return self.targets(expert.observations[rows], expert.actions[rows])

  def targets(self, observations: np.ndarray, actions: np.ndarray,
              batch_size: int = 4096) -> dict[str, np.ndarray]:
    """{'latents': z* = embed(s, a*)} for every expert transition, in batches."""
    out = [self.embedding.embed(observations[i:i + batch_size], actions[i:i + batch_size])
           for i in range(0, len(observations), batch_size)]
    return {'latents': np.concatenate([z.numpy() for z in out]) if out else np.zeros(
        (0, self.embedding.latent_dim), np.float32)}

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    obs, actions, latents = batch['observations'], batch['actions'], batch['latents']
    with tf.GradientTape() as tape:
      latent_nll = -replicas.global_mean(self.latent_policy(obs).log_prob(latents))
      distribution = self.decoder(tf.concat([obs, latents], axis=-1))
      action_nll = -replicas.global_mean(self.decoder.log_prob(distribution, actions))
      sample_log_prob, entropy_term = self.entropy_terms(self.decoder, distribution,
                                                         tf.shape(obs)[0])
      loss = latent_nll + action_nll + entropy_term
    self.apply_gradients(tape, loss)
    alpha_loss = self.temperature.update(sample_log_prob)
    return self.finish({'loss': loss, 'latent_nll': latent_nll, 'action_nll': action_nll,
                        'entropy': -replicas.global_mean(sample_log_prob)},
                       alpha=self.temperature.alpha, alpha_loss=alpha_loss)

  def act(self, observations: tf.Tensor, noise: tf.Tensor) -> tf.Tensor:
    """a = mode of pi_alpha(. | s, z), z = mean + std * noise of pi_Z(s)."""
    latents = acting.sampled_latent(self.latent_policy(observations), noise)
    return self.decoder.mode(tf.concat([observations, latents], axis=-1))

  def actor(self, obs_dim: int) -> acting.LatentActor:
    return acting.LatentActor(self.act, obs_dim, self.embedding.latent_dim,
                              self.config.latent_action == 'sample')
