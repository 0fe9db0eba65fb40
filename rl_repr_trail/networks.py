"""Multilayer perceptrons shared by every learner."""

from __future__ import annotations

import math
from typing import Sequence

import tensorflow as tf
import tf_keras


def _built(layers: list[tf_keras.layers.Layer], input_dim: int, name: str
           ) -> tf_keras.Sequential:
  model = tf_keras.Sequential(layers, name=name)
  model.build((None, input_dim))
  return model


def _relu_layers(hidden: Sequence[int]) -> list[tf_keras.layers.Dense]:
  return [tf_keras.layers.Dense(units, activation='relu') for units in hidden]


def mlp(input_dim: int, hidden: Sequence[int], output_dim: int, name: str) -> tf_keras.Sequential:
  """ReLU MLP with a linear output layer, built for inputs of width `input_dim`."""
  return _built(_relu_layers(hidden) + [tf_keras.layers.Dense(output_dim)], input_dim, name)


def relu_body(input_dim: int, hidden: Sequence[int], name: str) -> tf_keras.Sequential:
  """The ReLU layers of `mlp` alone, for networks whose output layer is held apart."""
  return _built(_relu_layers(hidden), input_dim, name)


def output_heads(input_dim: int, widths: Sequence[int], name: str) -> list[tf_keras.layers.Dense]:
  """Linear layers that together are one output layer of width sum(widths), split by
  columns: the same function, and the same initial distribution (Keras' Glorot uniform
  for the whole layer), with one product per head instead of one wide product."""
  limit = math.sqrt(6.0 / (input_dim + sum(widths)))
  heads = [tf_keras.layers.Dense(width, name=f'{name}_{i}',
                                 kernel_initializer=tf_keras.initializers.RandomUniform(
                                     -limit, limit)) for i, width in enumerate(widths)]
  for head in heads:
    head.build((None, input_dim))
  return heads
