"""Runnable demos, one per topic of the notes; `tinygrad-rnn demo --list` shows them.

Each demo is a module with ``main(argv=None)`` that parses the common options of
:mod:`demos.common`, prints a closing summary (claim, measured number, held or not) and
returns it as a :class:`demos.common.Summary` so that tests can assert the claim.
"""

from typing import NamedTuple


class Demo(NamedTuple):
    """A demo's module, one line on what it shows, and its typical wall time on 2 CPU cores
    (seconds, full mode and ``--quick``, the command's whole run; ``None`` where not measured
    yet). Measured with `time tinygrad-rnn demo NAME [--quick]` on the 2-core machine while
    other jobs shared it: the fastest of the runs taken, still on the high side. A demo that
    trains several independent models trains them side by side, one process per core
    (:func:`demos.common.run_jobs`), so it gains less where other work keeps the cores busy."""

    module: str
    line: str
    full_s: float | None = None
    quick_s: float | None = None


# name -> Demo(module, one line on what it shows, full-mode seconds, quick-mode seconds)
DEMOS: dict[str, Demo] = {
    "tour": Demo("demos.tour",
                "the flagship: linear RNN, tied weights, an unrolled graph, a small LSTM",
                full_s=1.1, quick_s=0.6),
    "linear-rnn": Demo("demos.linear_rnn",
                "all weights 1, linear units: outputs 4, 12, 32 (notes 003)",
                full_s=0.2, quick_s=0.3),
    "tied-weights": Demo("demos.tied_weights",
                "a shared weight's gradient is the sum of its per-step gradients",
                full_s=0.3, quick_s=0.3),
    "bptt-by-hand": Demo("demos.bptt_by_hand",
                "the notes' BPTT gradient sums, by hand, equal autograd",
                full_s=0.3, quick_s=0.2),
    "exploding-gradients": Demo("demos.exploding_gradients",
                "w^1000 on a cliff: descent with and without norm clipping",
                full_s=4.4, quick_s=3.1),
    "iterated-map": Demo("demos.iterated_map",
                "σ(6h − 3) and x² + 0.15 as iterated maps: fixed points, cobwebs, phase plots, ∂h_100/∂h_1",
                full_s=1, quick_s=1.2),
    "vanishing-gradients": Demo("demos.vanishing_gradients",
                "‖∂L/∂c_t‖ along the cell vs full BPTT, forget-bias sweep; tanh RNN, IRNN; coloured graphs",
                full_s=4.6, quick_s=5.6),
    "lstm-memory": Demo("demos.lstm_memory",
                "the notes' hand-wired LSTM memory (9- and 5-step tables), then a trained one",
                full_s=3.2, quick_s=1.4),
    "char-rnn": Demo("demos.char_rnn",
                "RNNLM vs n-grams and a feed-forward LM in bits/char; temperatures, 3 ways to stop",
                full_s=23, quick_s=4.4),
    "slot-filling": Demo("demos.slot_filling",
                "arrive/leave Taipei: feed-forward vs RNN vs BiRNN; unseen words, \"other\", hashing",
                full_s=5.1, quick_s=2.5),
    "gru-vs-lstm": Demo("demos.gru_vs_lstm",
                "the notes' GRU (eq. 7) and the LSTM on the memory task, same budget",
                full_s=20, quick_s=2.2),
    "deep-bidirectional": Demo("demos.deep_bidirectional",
                "deep BiRNN vs one-way tagger when tags need the future",
                full_s=2.8, quick_s=1.7),
    "many-to-one": Demo("demos.many_to_one",
                "sentiment-style classification from the last state h_T",
                full_s=2.2, quick_s=1.6),
    "teacher-forcing": Demo("demos.teacher_forcing",
                "Jordan RNN: teacher forcing vs free running vs scheduled",
                full_s=3.2, quick_s=1.8),
    "seq2seq-attention": Demo("demos.seq2seq_attention",
                "dates in words → ISO dates: encoder–decoder with Bahdanau attention",
                full_s=8.1, quick_s=3.5),
    "recursive-net": Demo("demos.recursive_net",
                "a recursive net labels every node of parse trees; W.grad = Σ over nodes",
                full_s=3.5, quick_s=1.3),
    "gradient-regularizer": Demo("demos.gradient_regularizer",
                "the regulariser Ω (notes 001) keeps ‖∂L/∂h_t‖ from vanishing; the tanh RNN learns with it",
                full_s=7, quick_s=8.1),
    "adding-problem": Demo("demos.adding_problem",
                "adding problem, T = 50: IRNN comparable to the LSTM, both beat 1/6; the tanh RNN does not",
                full_s=16, quick_s=3.2),
    "copy-task": Demo("demos.copy_task",
                "memorise 10 symbols over a delay: LSTM vs tanh RNN; a reversed source learns faster (004)",
                full_s=60, quick_s=4.1),
    "clockwork-scrn": Demo("demos.clockwork_scrn",
                "tanh RNN vs clockwork RNN, SCRN, skip RNN, LSTM: adding problem, one parameter budget",
                full_s=20, quick_s=5.1),
    "context-rnn": Demo("demos.context_rnn",
                'a class-conditioned sequence generator: context as h_0 vs as a bias at every step',
                full_s=4.0, quick_s=1.5),
    "deep-transition": Demo("demos.deep_transition",
                'running parity: a deep-transition RNN vs a plain and a stacked RNN, same budget',
                full_s=15, quick_s=3.1),
    "feedforward-backprop": Demo("demos.feedforward_backprop",
                'the δ^l recursion of a feed-forward net by hand in NumPy, equal to autograd to 1e-10',
                full_s=1, quick_s=0.9),
    "information-morphing": Demo("demos.information_morphing",
                "a linear probe reads x^(3) out of h^(t): it washes away in a tanh RNN, an LSTM keeps it",
                full_s=11, quick_s=4.9),
    "learning-rate-dilemma": Demo("demos.learning_rate_dilemma",
                "on the w^1000 cliff no one learning rate serves plateau and cliff; clipping does",
                full_s=1.6, quick_s=1.2),
    "lstm-exploding": Demo("demos.lstm_exploding",
                "an open forget gate stops the LSTM's gradient vanishing — and lets it explode",
                full_s=2.5, quick_s=0.8),
    "parameter-sharing": Demo("demos.parameter_sharing",
                "an RNN finds a bigram at unseen positions; a feed-forward net learns each position anew",
                full_s=4.8, quick_s=1.7),
    "sigmoid-drift": Demo("demos.sigmoid_drift",
                "sigmoid hidden states drift upward over time, tanh states stay centred (measured)",
                full_s=2.7, quick_s=0.4),
    "lstm-variants": Demo("demos.lstm_variants",
                "standard, peephole, coupled-gate (f = 1 − i) LSTM and GRU at one budget: similar, measured",
                full_s=24, quick_s=4),
    "gru-from-memory": Demo("demos.gru_from_memory",
                "the GRU built gate by gate from clearing, writing, reading, each on a task that needs it",
                full_s=49, quick_s=5.6),
    "deep-seq2seq": Demo("demos.deep_seq2seq",
                "sorting digits with a 2-layer vs 1-layer encoder–decoder (and 1 wider layer), 3 seeds",
                full_s=44, quick_s=6.8),
    "handwriting": Demo("demos.handwriting",
                "an LSTM with a mixture-density output writes pen strokes of glyphs, then on request",
                full_s=11, quick_s=5.8),
    "one-to-many": Demo("demos.one_to_many",
                "one input vector at t = 1, a whole sequence out: count on from the digit shown once",
                full_s=1.3, quick_s=1),
}
