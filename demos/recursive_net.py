"""A recursive net over labelled parse trees: one shared W composes every node (notes 001, 004).

Leaves are word vectors x_w; every internal node composes its two children bottom up with
the same weights,

    p = tanh(W [c_left ; c_right] + b),        ŷ = softmax(W_s p + b_s)   at every node

and the cost C sums −log ŷ_label over all nodes of all trees (tasks.random_trees: "not"
flips its sibling's sentiment, "very" strengthens it, otherwise the values add). W is tied
across nodes as an RNN's weights are tied across time steps, so backprop gives it the sum of
the per-node contributions, ∂C/∂W = Σ_nodes ∂C/∂W_node, checked here on one tree's messages.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import backend, nn
from tinygrad_rnn.tasks import random_trees
from tinygrad_rnn.tasks.sentiment import CLASSES
from tinygrad_rnn.tasks.trees import WORDS

from .common import Summary, parser, progress, pyplot, save, setup


def node_labels(trees) -> tuple[np.ndarray, np.ndarray]:
    """Every node's class, tree after tree in post-order, and whether the node is internal."""
    nodes = [n for t in trees for n in nn.parse_tree(t).postorder()]
    return np.array([n.label for n in nodes]), np.array([not n.is_leaf for n in nodes])


def predict(model, trees) -> np.ndarray:
    with tg.no_grad():
        _, nodes = model(trees, batched=True)
        return model.classifier(nodes).numpy().argmax(-1)


def shared_W_check(model, tree: str):
    """∂C/∂W from backward against the sum of the messages W got, one per internal node."""
    model.zero_grad()
    with tg.record_messages() as messages:
        loss = model.node_loss(tree)  # node by node: each composition in its own scope
        loss.name = "C"
        loss.backward()
    per_node = [(consumer.scope, backend.to_host(g)) for consumer, _, _, g in messages.to(model.W.node)]
    total = sum(g for _, g in per_node)
    error = float(np.abs(total - model.W.grad.numpy()).max())
    return loss, messages, per_node, total, error


def main(argv=None) -> Summary:
    args = parser("recursive-net", __doc__.splitlines()[0], steps=1500).parse_args(argv)
    out = setup(args)
    summary = Summary("recursive-net")
    steps = 150 if args.quick else args.steps
    train = random_trees(1000 if args.quick else 3000, seed=args.seed)
    test = random_trees(300, seed=10_000 + args.seed)
    print("three training trees:", *train[:3], sep="\n  ")

    model = nn.RecursiveNN(list(WORDS), 16, num_classes=len(CLASSES)).to(args.device)
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(args.seed)
    losses = []
    for _ in progress(range(steps), desc="recursive net, per-node classifier"):
        batch = [train[k] for k in rng.integers(len(train), size=32)]
        loss = model.node_loss(batch, batched=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())

    labels, internal = node_labels(test)
    guess = predict(model, test)
    majority = Counter(node_labels(train)[0].tolist()).most_common(1)[0][0]
    inner_majority = Counter(node_labels(train)[0][node_labels(train)[1]].tolist()).most_common(1)[0][0]
    acc = float((guess == labels).mean())
    base = float((labels == majority).mean())
    inner_acc = float((guess == labels)[internal].mean())
    inner_base = float((labels[internal] == inner_majority).mean())
    roots = np.cumsum([len(nn.parse_tree(t).postorder()) for t in test]) - 1  # post-order: root last
    root_acc = float((guess == labels)[roots].mean())
    root_base = float((labels[roots] == inner_majority).mean())
    print(f"test accuracy over {len(labels)} nodes: {acc:.1%} (majority class "
          f"'{CLASSES[majority]}': {base:.1%})")
    print(f"  internal nodes only: {inner_acc:.1%} (majority '{CLASSES[inner_majority]}': "
          f"{inner_base:.1%});  roots: {root_acc:.1%} (majority: {root_base:.1%})")
    summary.claim("the per-node classifier beats the majority class by ≥ 30 points on all nodes",
                  f"{acc:.1%} vs {base:.1%}", acc >= base + 0.30)
    summary.claim("… and on the internal nodes (≥ 30 points), whose class needs the composition",
                  f"{inner_acc:.1%} vs {inner_base:.1%}", inner_acc >= inner_base + 0.30)

    small = next(t for t in test if 3 <= len(nn.parse_tree(t).leaves()) <= 4)
    loss, messages, per_node, total, error = shared_W_check(model.double(), small)
    print(f"shared W on {small}:")
    for scope, g in per_node:
        print(f"  ∂C/∂W_node from {scope:<14} ‖·‖ = {np.linalg.norm(g):.6f}")
    print(f"  ‖Σ_nodes ∂C/∂W_node‖ = {np.linalg.norm(total):.6f},  "
          f"‖W.grad‖ = {np.linalg.norm(model.W.grad.numpy()):.6f}")
    n_internal = len(nn.parse_tree(small).leaves()) - 1
    summary.claim("W.grad = Σ of its per-node contributions (one per internal node)",
                  f"{len(per_node)} contributions for {n_internal} internal nodes, "
                  f"max |Σ − grad| = {error:.1e}", len(per_node) == n_internal and error < 1e-10)

    try:
        path = tg.graph(loss, messages=messages).render(
            f"{out}/graph_tree", format="svg", view="collapsed",
            title=f"{nn.parse_tree(small)}: one box per tree node; W's arrows carry each "
                  f"composition's ∂C/∂W_node; colour = ‖∂C/∂node‖")
        summary.files.append(str(path))
    except RuntimeError as e:  # no `dot` binary: the .dot file is written, the error says how
        print(e)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(losses)
    ax.set(xlabel="step", ylabel="mean −log ŷ_label per node", title="recursive net training")
    save(fig, out, "loss.png", summary)
    summary.print()
    return summary


if __name__ == "__main__":
    main()
