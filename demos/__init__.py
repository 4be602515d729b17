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
    "vanishing-gradients": ("demos.vanishing_gradients",
                            "‖∂L/∂h_t‖ per step: tanh RNN vs IRNN vs LSTM, and the coloured graphs"),
    "lstm-memory": ("demos.lstm_memory", "the notes' hand-wired LSTM memory (7, 6), then a trained one"),
    "char-rnn": ("demos.char_rnn", "RNNLM à la min-char-rnn: truncated BPTT, temperatures, 3 ways to stop"),
    "slot-filling": ("demos.slot_filling", "arrive/leave Taipei: feed-forward tagger vs RNN vs BiRNN"),
    "gru-vs-lstm": ("demos.gru_vs_lstm", "GRU and LSTM on the notes' memory task with the same budget"),
    "deep-bidirectional": ("demos.deep_bidirectional",
                           "deep BiRNN vs one-way tagger when tags need the future"),
    "many-to-one": ("demos.many_to_one", "sentiment-style classification from the last state h_T"),
    "teacher-forcing": ("demos.teacher_forcing", "Jordan RNN: teacher forcing vs free running vs scheduled"),
    "seq2seq-attention": ("demos.seq2seq_attention",
                          "dates in words → ISO dates: encoder–decoder with Bahdanau attention"),
    "recursive-net": ("demos.recursive_net",
                      "a recursive net labels every node of parse trees; W.grad = Σ over nodes"),
    "gradient-regularizer": ("demos.gradient_regularizer",
                             "the gradient-flow regulariser Ω keeps ‖∂L/∂h_t‖ from vanishing (notes 001)"),
    "adding-problem": ("demos.adding_problem",
                       "adding problem, T = 50: IRNN and LSTM beat the 1/6 baseline, tanh RNN does not"),
    "copy-task": ("demos.copy_task",
                  "memorise 10 symbols over a delay: LSTM vs tanh RNN, and reversing the input (notes 004)"),
}
