"""Multilayer perceptrons shared by every learner, initialised as the original rl_repr code.

Every layer's kernel is VarianceScaling(scale, fan_in, uniform): U(-l, l) with
l = sqrt(3 scale / fan_in), scale 0.333 (`HIDDEN_SCALE`), except the output layer of the
policy trunks, scale 0.01 (`NEAR_ZERO_SCALE`), so that those policies start with mean
and log-std near 0. Biases start at zero. The SAC experts keep Keras' Glorot uniform
(`init='glorot'`): they are not part of the original's method.
"""

from __future__ import annotations

from typing import Sequence

import tf_keras

HIDDEN_SCALE = 0.333
NEAR_ZERO_SCALE = 0.01
INITS = ('original', 'glorot')


def kernel_initializer(scale: float, init: str = 'original') -> tf_keras.initializers.Initializer:
  """The original's VarianceScaling(scale, fan_in, uniform), or Keras' Glorot uniform."""
  if init not in INITS:
    raise ValueError(f'init={init!r}: expected one of {INITS}')
  if init == 'glorot':
    return tf_keras.initializers.GlorotUniform()
  return tf_keras.initializers.VarianceScaling(scale, mode='fan_in', distribution='uniform')


def _built(layers: list[tf_keras.layers.Layer], input_dim: int, name: str
           ) -> tf_keras.Sequential:
  model = tf_keras.Sequential(layers, name=name)
  model.build((None, input_dim))
  return model


def _hidden_layers(hidden: Sequence[int], activation: str, init: str
                   ) -> list[tf_keras.layers.Dense]:
  return [tf_keras.layers.Dense(units, activation=activation,
                                kernel_initializer=kernel_initializer(HIDDEN_SCALE, init))
          for units in hidden]


def mlp(input_dim: int, hidden: Sequence[int], output_dim: int, name: str,
        activation: str = 'swish', output_scale: float = HIDDEN_SCALE,
        init: str = 'original') -> tf_keras.Sequential:
  """An MLP with a linear output layer, built for inputs of width `input_dim`."""
  output = tf_keras.layers.Dense(output_dim,
                                 kernel_initializer=kernel_initializer(output_scale, init))
  return _built(_hidden_layers(hidden, activation, init) + [output], input_dim, name)


def body(input_dim: int, hidden: Sequence[int], name: str, activation: str = 'swish'
         ) -> tf_keras.Sequential:
  """The hidden layers of `mlp` alone, for networks whose output layer is held apart."""
  return _built(_hidden_layers(hidden, activation, 'original'), input_dim, name)


def output_heads(input_dim: int, widths: Sequence[int], name: str) -> list[tf_keras.layers.Dense]:
  """Linear layers that together are one output layer of width sum(widths), split by
  columns: with a fan-in initialiser each head has that layer's distribution, and each
  is one product instead of a share of one wide product."""
  heads = [tf_keras.layers.Dense(width, name=f'{name}_{i}',
                                 kernel_initializer=kernel_initializer(HIDDEN_SCALE))
           for i, width in enumerate(widths)]
  for head in heads:
    head.build((None, input_dim))
  return heads

