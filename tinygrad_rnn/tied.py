"""The notes' tied-weight rule on real numbers: ∂C/∂w = Σ_t ∂C/∂w_t.

A weight shared by T time steps receives one gradient message from each step during
backward (``record_messages()`` keeps them); autograd sums them into ``w.grad``. This module
groups the messages a parameter received by time step (following them back through views
such as ``W_hh.T`` that a layer takes once for all steps) and sets their sum next to
``.grad``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygrad_rnn.capture import STEP, VIEW_BACK, host64, norm, short_name
from tinygrad_rnn.modes import MessageRecorder
from tinygrad_rnn.tensor import Tensor


@dataclass
class TiedGradient:
    """A shared parameter's per-step gradient contributions next to their sum and ``.grad``."""

    name: str
    steps: list[int | None]   # the time step of each contribution (None: used outside steps)
    contributions: list       # host float64 arrays, one per step
    total: object             # Σ contributions
    grad: object              # the parameter's .grad, as float64
    max_abs_error: float      # max |Σ − grad|

    def holds(self, tol: float = 1e-10) -> bool:
        return self.max_abs_error <= tol

    def __str__(self) -> str:
        sym = short_name(self.name)
        parts = "  ".join(f"‖t={s}‖={norm(c):.4g}" if s is not None else f"‖·‖={norm(c):.4g}"
                          for s, c in zip(self.steps, self.contributions))
        return (f"∂C/∂{sym} = Σ_t ∂C/∂{sym}_t over {len(self.steps)} uses: {parts}\n"
                f"‖Σ_t‖ = {norm(self.total):.6g}, ‖{sym}.grad‖ = {norm(self.grad):.6g}, "
                f"max |Σ_t − grad| = {self.max_abs_error:.3g}")


def check_tied_gradient(param: Tensor, messages: MessageRecorder) -> TiedGradient:
    """Show ``∂C/∂w = Σ_t ∂C/∂w_t`` on real numbers: the messages ``param`` received during a
    backward run inside ``record_messages()``, summed per time step, against ``param.grad``."""
    name = param.name or "w"
    if not isinstance(messages, MessageRecorder):
        raise TypeError("check_tied_gradient needs the recorder of `with record_messages() as "
                        f"messages:`, got {type(messages).__name__}")
    if param._node is None or param.grad is None:
        raise ValueError(f"check_tied_gradient: {name!r} has no .grad; run loss.backward() inside "
                         f"`with record_messages() as messages:` first")
    by_producer: dict = {}
    for m in messages.messages:
        by_producer.setdefault(m[2], []).append(m)
    if not by_producer.get(param._node):
        raise ValueError(f"check_tied_gradient: no messages reached {name!r}; was backward run "
                         f"inside record_messages(), and does the loss use it?")
    per_step: dict = {}
    work = [(m, []) for m in by_producer[param._node]]  # (message, views to undo, innermost last)
    while work:
        (consumer, _, _, g), undo = work.pop()
        step = next((int(STEP.match(s).group(1)) for s in consumer.scope.split("/")
                     if STEP.match(s)), None)
        if step is None and consumer.op.name in VIEW_BACK and by_producer.get(consumer):
            # W_hh.T used by every step: take the steps' messages to the view, mapped back
            work += [(m, [*undo, consumer]) for m in by_producer[consumer]]
            continue
        a = host64(g)
        for view in reversed(undo):
            a = VIEW_BACK[view.op.name](a, view.attrs)
        per_step[step] = a if step not in per_step else per_step[step] + a
    steps = sorted(per_step, key=lambda s: (s is None, s if s is not None else 0))
    contributions = [per_step[s] for s in steps]
    total = contributions[0]
    for c in contributions[1:]:
        total = total + c
    grad = host64(param.grad.data)
    return TiedGradient(name, steps, contributions, total, grad, float(abs(total - grad).max()))
