"""blindfold: machine learning on data that nobody gets to see.

Inputs are secret-shared among two servers and a crypto producer (Pond, as
in tf-encrypted) or encrypted under their owner's key (Paillier), and only
the named receiver learns a result. Everything runs in this process by
default; a parties file runs a graph on networked workers instead.

>>> import numpy as np, blindfold as bf
>>> g = bf.Graph()
>>> x = g.private_input("prediction-client", "x", shape=(1, 4))
>>> w = g.private_input("model-owner", "w", shape=(4, 2))
>>> g.output("prediction-client", "y", bf.relu(x @ w))
>>> result = g.run({"prediction-client": {"x": np.ones((1, 4))},
...                 "model-owner": {"w": np.full((4, 2), 0.5)}})
>>> result.outputs["prediction-client"]["y"]
array([[2., 2.]])
"""

from ._blindfold import ProtocolError, __version__
from .graph import (
    Graph,
    Result,
    Tensor,
    argmax,
    avg_pool2d,
    concat,
    conv2d,
    max_pool2d,
    polynomial,
    reduce_max,
    relu,
    sigmoid,
    softmax,
)
from .workflows import TrainResult, predict, train
from . import paillier

__all__ = [
    "Graph",
    "ProtocolError",
    "Result",
    "Tensor",
    "TrainResult",
    "__version__",
    "argmax",
    "avg_pool2d",
    "concat",
    "conv2d",
    "max_pool2d",
    "paillier",
    "polynomial",
    "predict",
    "reduce_max",
    "relu",
    "sigmoid",
    "softmax",
    "train",
]
