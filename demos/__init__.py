"""Runnable demos, one per topic of the notes; `tinygrad-rnn demo --list` shows them.

Each demo is a module with ``main(argv=None)`` that parses the common options of
:mod:`demos.common`, prints a closing summary (claim, measured number, held or not) and
returns it as a :class:`demos.common.Summary` so that tests can assert the claim.
"""

# name -> (module, one line on what it shows)
DEMOS = {
    "tour": ("demos.tour", "the flagship: linear RNN, tied weights, an unrolled graph, a small LSTM"),
    "linear-rnn": ("demos.linear_rnn", "all weights 1, linear units: outputs 4, 12, 32 (notes 003)"),
    "tied-weights": ("demos.tied_weights", "a shared weight's gradient is the sum of its per-step gradients"),
    "bptt-by-hand": ("demos.bptt_by_hand", "the notes' BPTT gradient sums, by hand, equal autograd"),
    "exploding-gradients": ("demos.exploding_gradients",
                            "w^1000 on a cliff: descent with and without norm clipping"),
    "iterated-map": ("demos.iterated_map", "h_t = σ(6h_{t−1} − 3): fixed points, phase plot, ∂h_100/∂h_1"),
    "gradient-regularizer": ("demos.gradient_regularizer",
                             "the gradient-flow regulariser Ω keeps ‖∂L/∂h_t‖ from vanishing (notes 001)"),
    "adding-problem": ("demos.adding_problem",
                       "adding problem, T = 50: IRNN and LSTM beat the 1/6 baseline, tanh RNN does not"),
    "copy-task": ("demos.copy_task",
                  "memorise 10 symbols over a delay: LSTM vs tanh RNN, and reversing the input (notes 004)"),
}
