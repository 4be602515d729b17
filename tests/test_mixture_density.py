"""nn.functional.mixture_density_nll (Graves 2013 §4.1): the mixture-density loss of handwriting."""

import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.errors import ShapeError
from tinygrad_rnn.nn import functional as F


def reference(params, target):
    """The equations term by term in NumPy: −log Σ π N − log Bernoulli."""
    K = (params.shape[-1] - 1) // 6
    e = 1 / (1 + np.exp(-params[..., 0]))
    pi_hat, mu1, mu2, s1, s2, rho = np.split(params[..., 1:], 6, axis=-1)
    pi = np.exp(pi_hat) / np.exp(pi_hat).sum(-1, keepdims=True)
    s1, s2, rho = np.exp(s1), np.exp(s2), np.tanh(rho)
    x1, x2, x3 = target[..., :1], target[..., 1:2], target[..., 2]
    Z = ((x1 - mu1) / s1) ** 2 + ((x2 - mu2) / s2) ** 2 - 2 * rho * (x1 - mu1) * (x2 - mu2) / (s1 * s2)
    N = np.exp(-Z / (2 * (1 - rho ** 2))) / (2 * math.pi * s1 * s2 * np.sqrt(1 - rho ** 2))
    assert pi.shape[-1] == K
    return -np.log((pi * N).sum(-1)) - np.log(np.where(x3 == 1, e, 1 - e))


@pytest.mark.parametrize("K", [1, 3])
def test_matches_the_equations_and_reductions(K):
    rng = np.random.default_rng(K)
    params = rng.standard_normal((4, 5, 1 + 6 * K))
    target = np.concatenate([rng.standard_normal((4, 5, 2)), rng.integers(0, 2, (4, 5, 1))], -1)
    ref = reference(params, target)
    p, t = tg.tensor(params), tg.tensor(target)
    assert np.allclose(F.mixture_density_nll(p, t, reduction="none").numpy(), ref, atol=1e-12)
    assert np.isclose(F.mixture_density_nll(p, t).item(), ref.mean())
    assert np.isclose(F.mixture_density_nll(p, t, reduction="sum").item(), ref.sum())


def test_single_gaussian_is_the_bivariate_normal_density():
    """K = 1, ρ = 0, σ = 1, μ = 0: −log N = log 2π + |x|²/2 (plus the Bernoulli's log 2)."""
    params = np.zeros((1, 7))
    x = np.array([[0.3, -1.2, 1.0]])
    nll = F.mixture_density_nll(tg.tensor(params), tg.tensor(x)).item()
    assert np.isclose(nll, math.log(2 * math.pi) + (0.3 ** 2 + 1.2 ** 2) / 2 + math.log(2))


def test_stable_far_from_every_component():
    params = np.zeros((1, 13))
    params[0, 3:5] = 0.0
    x = np.array([[60.0, -60.0, 0.0]])  # N underflows to 0 in float64; the log-sum-exp does not
    nll = F.mixture_density_nll(tg.tensor(params), tg.tensor(x)).item()
    assert np.isfinite(nll) and nll > 3000


def test_gradcheck_float64():
    rng = np.random.default_rng(0)
    params = tg.tensor(rng.standard_normal((3, 4, 13)) * 0.5, requires_grad=True)
    target = tg.tensor(np.concatenate([rng.standard_normal((3, 4, 2)),
                                       rng.integers(0, 2, (3, 4, 1))], -1), requires_grad=True)
    assert tg.gradcheck(lambda p, t: F.mixture_density_nll(p, t, reduction="sum"), [params, target])


def test_errors():
    with pytest.raises(ShapeError, match="1 \\+ 6K"):
        F.mixture_density_nll(tg.zeros(2, 8), tg.zeros(2, 3))
    with pytest.raises(ShapeError, match="target"):
        F.mixture_density_nll(tg.zeros(2, 7), tg.zeros(2, 2))
    with pytest.raises(ValueError):
        F.mixture_density_nll(tg.zeros(2, 7), tg.zeros(2, 3), reduction="avg")
