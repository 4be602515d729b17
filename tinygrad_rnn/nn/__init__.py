"""Neural-network modules built from Tensor operations only: BPTT comes from the engine.

PyTorch's names, parameter layouts and return values throughout, so a PyTorch
``state_dict`` (as NumPy arrays) loads and gives the same numbers.
"""

from tinygrad_rnn.nn import functional, init, utils
from tinygrad_rnn.nn.activation import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Identity,
    LogSoftmax,
    MSELoss,
    NLLLoss,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from tinygrad_rnn.nn.attention import AdditiveAttention, DotAttention, GeneralAttention
from tinygrad_rnn.nn.cells import GRUCell, JordanRNNCell, LSTMCell, RNNCell
from tinygrad_rnn.nn.clockwork import ClockworkRNN
from tinygrad_rnn.nn.containers import ModuleDict, ModuleList
from tinygrad_rnn.nn.layers import Dropout, Embedding, Linear, Sequential
from tinygrad_rnn.nn.memory import MemoryRNN
from tinygrad_rnn.nn.module import Module, Parameter
from tinygrad_rnn.nn.recursive import RecursiveNN, Tree, parse_tree
from tinygrad_rnn.nn.rnn import GRU, IRNN, LSTM, RNN, RNNBase
from tinygrad_rnn.nn.sampling import StopOutput, generate, sample
from tinygrad_rnn.nn.scrn import SCRN
from tinygrad_rnn.nn.seq2seq import AttentionDecoder, Encoder, Seq2Seq
from tinygrad_rnn.nn.skip import DeepTransitionRNN, SkipRNN

__all__ = [
    "Module", "Parameter", "Linear", "Embedding", "Dropout", "Sequential", "RNNCell",
    "LSTMCell", "GRUCell", "JordanRNNCell", "RNN", "LSTM", "GRU", "IRNN", "RNNBase", "init",
    "functional", "utils",
    "AdditiveAttention", "DotAttention", "GeneralAttention",
    "Encoder", "AttentionDecoder", "Seq2Seq", "RecursiveNN", "Tree", "parse_tree",
    "StopOutput", "generate", "sample",
    "Identity", "Tanh", "Sigmoid", "ReLU", "Softmax", "LogSoftmax", "CrossEntropyLoss", "NLLLoss",
    "MSELoss", "BCEWithLogitsLoss", "ModuleList", "ModuleDict",
    "ClockworkRNN", "SCRN", "SkipRNN", "DeepTransitionRNN",
    "MemoryRNN",
]
