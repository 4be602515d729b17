"""Grad mode, scopes and the other autograd switches belong to the thread that set them."""

import sys
import threading

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg


def _in_thread(fn):
    """Run ``fn`` in a new thread and return its result (re-raising its exception)."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as err:  # handed back to the test
            out["error"] = err
    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_togglers_in_two_threads_never_stop_the_main_threads_graph():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so the blocks interleave
    w = tg.Tensor(np.full((3, 3), 0.1), requires_grad=True)
    errors = []
    z = tg.Tensor(np.ones(3))

    def toggle():
        try:
            for _ in range(1000):
                with tg.no_grad():
                    assert not (z * 2).requires_grad and not tg.is_grad_enabled()
                    with tg.enable_grad():
                        assert tg.is_grad_enabled()
                assert tg.is_grad_enabled()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=toggle) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        steps = _train_while(threads, w)
    finally:
        for t in threads:
            t.join()
        sys.setswitchinterval(interval)
    assert not errors, errors
    assert steps >= 50 and tg.is_grad_enabled()


def _train_while(threads, w) -> int:
    """Training steps of the main thread while ``threads`` run; each must record its graph."""
    steps = 0
    x = tg.Tensor(np.ones((2, 3)))
    while any(t.is_alive() for t in threads) or steps < 50:
        loss = (x @ w).tanh().sum()
        assert loss.requires_grad, f"step {steps} recorded no graph"
        w.grad = None
        loss.backward()
        assert w.grad is not None
        steps += 1
    return steps


def test_no_grad_in_another_thread_does_not_stop_this_threads_graph():
    inside, done = threading.Event(), threading.Event()

    def hold_no_grad():
        with tg.no_grad():
            inside.set()
            done.wait(10)
            return tg.is_grad_enabled()

    t = threading.Thread(target=hold_no_grad)
    t.start()
    inside.wait(10)
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    done.set()
    t.join()
    assert y.requires_grad and tg.is_grad_enabled()


def test_a_new_thread_starts_with_grad_enabled_and_an_empty_scope():
    with tg.no_grad(), tg.scope("outer"), tg.detect_anomaly(), tg.keep_values():
        def probe():
            st = tg.modes.state()
            x = tg.Tensor([1.0], requires_grad=True)
            return tg.is_grad_enabled(), (x * 2).node.scope, st.anomaly, st.keep_values
        assert _in_thread(probe) == (True, "", False, False)
        assert not tg.is_grad_enabled()


def test_scopes_and_message_recording_are_per_thread():
    inside, done = threading.Event(), threading.Event()

    def other():
        with tg.scope("other"), tg.record_messages():
            inside.set()
            done.wait(10)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(10)
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    assert y.node.scope == ""
    assert tg.modes.state().recorder is None
    done.set()
    t.join()


def test_one_no_grad_object_shared_by_two_threads_restores_each_threads_mode():
    shared = tg.no_grad()
    entered, go = threading.Barrier(2), threading.Event()

    def worker():
        with shared:
            entered.wait(10)
            go.wait(10)
        return tg.is_grad_enabled()

    t = threading.Thread(target=lambda: results.append(worker()))
    results = []
    t.start()
    with shared:
        entered.wait(10)
        assert not tg.is_grad_enabled()
    go.set()
    t.join()
    assert tg.is_grad_enabled() and results == [True]


def test_set_grad_enabled_as_a_call_switches_now():
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled()
        assert not (tg.Tensor([1.0], requires_grad=True) * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()


def test_set_grad_enabled_as_a_context_manager_restores_on_exit():
    with tg.set_grad_enabled(False):
        assert not tg.is_grad_enabled()
        with tg.set_grad_enabled(True):
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


@needs_torch
def test_set_grad_enabled_matches_torch():
    torch = TORCH
    seen = []
    for lib in (torch, tg):
        with lib.no_grad():
            with lib.set_grad_enabled(True):
                a = lib.is_grad_enabled()
            b = lib.is_grad_enabled()
        lib.set_grad_enabled(False)
        c = lib.is_grad_enabled()
        lib.set_grad_enabled(True)
        seen.append((a, b, c, lib.is_grad_enabled()))
    assert seen[0] == seen[1] == (True, False, False, True)


def test_no_grad_decorates_functions_with_and_without_parentheses():
    x = tg.Tensor([1.0], requires_grad=True)

    @tg.no_grad()
    def f(t):
        return t * 2

    @tg.no_grad
    def g(t):
        return t * 2

    @tg.enable_grad()
    def h(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    with tg.no_grad():
        assert h(x).requires_grad
    assert tg.is_grad_enabled()


def test_no_grad_on_a_generator_runs_its_body_under_the_mode_across_yields():
    x = tg.Tensor([1.0], requires_grad=True)

    @tg.no_grad()
    def steps(n):
        for _ in range(n):
            received = yield (x * 2).requires_grad, tg.is_grad_enabled()
            assert received is None or not tg.is_grad_enabled()

    gen = steps(3)
    assert next(gen) == (False, False)
    assert tg.is_grad_enabled()          # the caller runs with its own mode between steps
    assert gen.send("ping") == (False, False)
    assert tg.is_grad_enabled()
    assert list(gen) == [(False, False)]

    @tg.enable_grad()
    def recording():
        yield tg.is_grad_enabled()
        return "done"

    with tg.no_grad():
        gen = recording()
        assert next(gen) is True
        assert not tg.is_grad_enabled()
        with pytest.raises(StopIteration) as stop:
            next(gen)
        assert stop.value.value == "done"


def test_a_generator_closed_or_thrown_into_leaves_the_mode_as_it_was():
    @tg.no_grad()
    def gen():
        try:
            yield 1
            yield 2
        except KeyError:
            yield tg.is_grad_enabled()

    g = gen()
    next(g)
    assert g.throw(KeyError("x")) is False
    g.close()
    assert tg.is_grad_enabled()


def test_set_grad_enabled_as_a_decorator_switches_only_inside_the_function():
    @tg.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert tg.is_grad_enabled()
    x = tg.Tensor([1.0], requires_grad=True)
    assert not f(x).requires_grad and tg.is_grad_enabled()
