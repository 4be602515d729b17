"""tinygrad_rnn: a from-scratch autodiff engine for learning, seeing and running BPTT."""

# isort: off
from tinygrad_rnn.tensor import Tensor, from_numpy  # first: ops.py and functions.py build on Tensor
# isort: on

from tinygrad_rnn import inplace as inplace  # binds Tensor.__iadd__, __isub__, __imul__, __itruediv__
from tinygrad_rnn import nn, optim
from tinygrad_rnn.autograd import (
    detect_anomaly,
    enable_grad,
    grad,
    is_grad_enabled,
    keep_values,
    no_grad,
    record_messages,
    scope,
    set_grad_enabled,
)
from tinygrad_rnn.backend import float32, float64, int64
from tinygrad_rnn.checkpoint import load, save
from tinygrad_rnn.compose import amin, chunk, mean, min, minimum, split, squeeze, transpose, unsqueeze
from tinygrad_rnn.creation import (
    arange,
    eye,
    full,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    uniform,
    zeros,
    zeros_like,
)
from tinygrad_rnn.errors import (
    CheckpointError,
    DeviceError,
    DTypeError,
    GradcheckError,
    IndexOutOfRange,
    LayoutTooBig,
    ShapeError,
)
from tinygrad_rnn.functions import (
    ValuesIndices,
    abs,
    amax,
    argmax,
    argmin,
    cat,
    clip,
    clone,
    embedding,
    exp,
    from_dlpack,
    log,
    log_softmax,
    matmul,
    max,
    maximum,
    permute,
    relu,
    reshape,
    sigmoid,
    softmax,
    sqrt,
    stack,
    tanh,
    where,
)
from tinygrad_rnn.gradcheck import gradcheck
from tinygrad_rnn.graph import Graph, graph
from tinygrad_rnn.tied import TiedGradient, check_tied_gradient

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "eye", "arange",
    "randn", "rand", "uniform", "randint", "manual_seed", "cat", "stack", "split", "chunk",
    "where", "maximum", "minimum", "clip", "exp", "log", "tanh", "sigmoid", "relu", "abs",
    "sqrt", "softmax", "log_softmax", "matmul", "mean", "reshape", "permute", "transpose",
    "squeeze", "unsqueeze", "embedding", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "grad", "scope", "detect_anomaly", "record_messages", "keep_values",
    "gradcheck", "GradcheckError", "ShapeError", "IndexOutOfRange", "DTypeError", "DeviceError",
    "CheckpointError", "LayoutTooBig", "float32",
    "float64", "int64", "save", "load", "nn", "optim", "graph", "Graph", "check_tied_gradient",
    "TiedGradient", "max", "min", "amax", "amin", "argmax", "argmin", "clone", "from_dlpack",
    "ValuesIndices",
]
