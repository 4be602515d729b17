"""The pieces of the demos for the rest of the notes (issue 14) checked on their own
(tests/test_demos.py runs every demo in --quick mode and checks its claims)."""


def test_sigmoid_drift_recurrence_gradcheck():
    import tinygrad_rnn as tg
    from demos.sigmoid_drift import run_rnn
    tg.manual_seed(0)
    U = tg.randn(4, 3, dtype="float64", requires_grad=True)
    W = tg.randn(4, 4, dtype="float64", requires_grad=True)
    xs = tg.randn(5, 2, 3, dtype="float64", requires_grad=True)
    for act in ("sigmoid", "tanh"):
        assert tg.gradcheck(lambda U, W, xs, act=act: run_rnn(U, W, xs, act)[0], [U, W, xs])


def test_learning_rate_dilemma_gradient_is_the_closed_form_and_gradchecks():
    import tinygrad_rnn as tg
    from demos.exploding_gradients import T, unrolled_y
    from demos.learning_rate_dilemma import loss_and_grad
    for w in (0.99, 1.0005):
        loss, g = loss_and_grad(w)
        assert abs(loss - (w ** T - 1) ** 2) <= 1e-12 * max(1.0, loss)
        exact = 2 * T * w ** (T - 1) * (w ** T - 1)
        assert abs(g - exact) <= 1e-9 * abs(exact)
    w = tg.tensor([0.999], dtype="float64", requires_grad=True)
    assert tg.gradcheck(lambda w: (unrolled_y(w) - 1.0) ** 2, [w], eps=1e-8)


def test_information_morphing_probe_reads_what_is_there_and_nothing_else():
    import numpy as np

    from demos.information_morphing import K, probe_accuracy
    rng = np.random.default_rng(0)
    y_fit, y_test = rng.integers(0, K, 500), rng.integers(0, K, 500)
    code = rng.standard_normal((K, 6))  # states that carry the symbol linearly
    assert probe_accuracy(code[y_fit], y_fit, code[y_test], y_test) == 1.0
    noise_fit, noise_test = rng.standard_normal((500, 6)), rng.standard_normal((500, 6))
    assert probe_accuracy(noise_fit, y_fit, noise_test, y_test) < 0.4


def test_context_rnn_recognises_each_wave_and_not_a_shifted_one():
    import numpy as np

    from demos.context_rnn import K, recognised, targets
    y = targets(40)
    assert recognised(y).tolist() == list(range(K))
    assert recognised(np.roll(y, 1, axis=0)).tolist() == [K - 1] + list(range(K - 1))


def test_lstm_exploding_linearisation_is_exact_at_the_fixed_point():
    """∂(Σ h_T)/∂h_0 = ¼ W_gᵀ (Jᵀ)^{T−1} 1 with J = f I + ¼ W_g, as the docstring derives."""
    import numpy as np

    import tinygrad_rnn as tg
    from demos.lstm_exploding import H, lstm_with_forget_bias
    for b_f in (3.0, -1.0):
        lstm = lstm_with_forget_bias(b_f, seed=1)
        h0 = tg.zeros(1, 1, H, dtype="float64", requires_grad=True)
        c0 = tg.zeros(1, 1, H, dtype="float64")
        _, (hT, _) = lstm(tg.zeros(5, 1, 1, dtype="float64"), (h0, c0))
        hT.sum().backward()
        W_g = lstm.weight_hh_l0.numpy()[2 * H:3 * H]
        J = np.eye(H) / (1 + np.exp(-b_f)) + 0.25 * W_g
        expected = 0.25 * W_g.T @ np.linalg.matrix_power(J.T, 4) @ np.ones(H)
        assert np.allclose(h0.grad.numpy().reshape(H), expected, rtol=1e-10, atol=1e-14)
