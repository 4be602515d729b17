"""Recursive (tree) neural networks: a recurrent net over a parse tree instead of a chain (notes 001).

A leaf is a word vector x_w (a row of an embedding table); every internal node composes its
two children with one shared weight matrix,

    p = tanh(W [c_left ; c_right] + b)          W (d, 2d), b (d,), the same at every node

bottom up, so a sentence of n words becomes one vector at the root after n − 1 compositions.
A per-node classifier ŷ = softmax(W_s p + b_s) gives sentiment-style labels at every node.
Like the weights of an RNN shared across time steps, W is shared across nodes, and its
gradient is the sum of the per-node contributions ∂C/∂W = Σ_nodes ∂C/∂W_node.

Trees are :class:`Tree` objects, nested tuples or bracket strings; reading them is
:mod:`tinygrad_rnn.trees` (this file is the network only).
"""

from __future__ import annotations

import math

from tinygrad_rnn import backend
from tinygrad_rnn.errors import TreeSyntaxError
from tinygrad_rnn.functions import cat, stack
from tinygrad_rnn.modes import scope
from tinygrad_rnn.nn.layers import Embedding, Linear, new_parameter
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor
from tinygrad_rnn.trees import Tree, parse_tree


class RecursiveNN(Module):
    """Bottom-up composition p = tanh(W [c_left ; c_right] + b) with W shared by all nodes.

    ``vocab`` is a list of words (or a word → index dict, or a size when leaves are token
    ids); leaves look up ``embedding`` (vocab, hidden_size). With ``num_classes``, the
    ``classifier`` gives every node's logits W_s p + b_s.
    """

    def __init__(self, vocab, hidden_size: int, num_classes: int = 0):
        super().__init__()
        if isinstance(vocab, int):
            self.vocab, size = None, vocab
        else:
            self.vocab = dict(vocab) if isinstance(vocab, dict) else {w: i for i, w in enumerate(vocab)}
            size = max(self.vocab.values(), default=-1) + 1
        if size < 1 or not isinstance(hidden_size, int) or hidden_size < 1:
            raise ValueError(f"RecursiveNN: need a non-empty vocabulary and a positive "
                             f"hidden_size, got {size} words and hidden_size={hidden_size!r}")
        self.hidden_size, self.num_classes = hidden_size, num_classes
        self.embedding = Embedding(size, hidden_size)
        bound = 1 / math.sqrt(2 * hidden_size)
        self.W = new_parameter(hidden_size, 2 * hidden_size, bound=bound)
        self.b = new_parameter(hidden_size, bound=bound)
        if num_classes:
            self.classifier = Linear(hidden_size, num_classes)

    def extra_repr(self) -> str:
        return (f"vocab={self.embedding.num_embeddings}, hidden_size={self.hidden_size}, "
                f"num_classes={self.num_classes}")

    def trees(self, trees) -> list[Tree]:
        """One tree or a list of them (Tree, nested tuple or bracket string) as Trees."""
        items = trees if isinstance(trees, list) else [trees]
        if not items:
            raise ValueError(f"{self.short_repr()}: got an empty list of trees")
        out = []
        for k, t in enumerate(items):
            try:
                out.append(parse_tree(t) if isinstance(t, str) else Tree.from_nested(t))
            except TreeSyntaxError as e:
                raise TreeSyntaxError(f"{self.short_repr()}: tree {k}: {e}", e.position) from None
            except ValueError as e:
                raise ValueError(f"{self.short_repr()}: tree {k}: {e}") from None
        return out

    def _index(self, word) -> int:
        if self.vocab is None:
            idx = word if isinstance(word, int) else -1
        else:
            idx = word if isinstance(word, int) else self.vocab.get(word, -1)
        if not 0 <= idx < self.embedding.num_embeddings:
            raise KeyError(f"{self.short_repr()}: the leaf {word!r} is not in the vocabulary")
        return idx

    def forward(self, trees, batched: bool = False) -> tuple[Tensor, Tensor]:
        """(roots (N, d), nodes (n, d)): the root vector of each of the N trees, and every
        node's vector, tree after tree, each tree in post-order (leaves included).

        ``batched=False`` composes node by node, each in ``scope("tree=t")/scope("node=k")``,
        so the graph draws as the trees; ``batched=True`` composes all nodes of equal height
        in all trees with one matmul per height (``scope("level=h")``): same numbers, fewer ops.
        """
        trees = self.trees(trees)
        return self._batched(trees) if batched else self._node_by_node(trees)

    def _compose(self, left: Tensor, right: Tensor) -> Tensor:
        """p = tanh(W [c_left ; c_right] + b) for one node (1-D) or a batch of nodes (rows)."""
        children = cat([left, right], axis=-1)
        z = self.W @ children if children.ndim == 1 else children @ self.W.T
        p = (z + self.b).tanh()
        p.name = "p"
        return p

    def _node_by_node(self, trees: list[Tree]) -> tuple[Tensor, Tensor]:
        roots, nodes = [], []
        for t, tree in enumerate(trees):
            vec: dict[int, Tensor] = {}
            for k, node in enumerate(tree.postorder()):
                with scope(f"tree={t}"), scope(f"node={k}"):
                    if node.is_leaf:
                        v = self.embedding(backend.host_asarray(self._index(node.word)))
                        v.name = str(node.word)
                    else:
                        v = self._compose(vec[id(node.left)], vec[id(node.right)])
                vec[id(node)] = v
                nodes.append(v)
            roots.append(vec[id(tree)])
        return stack(roots), stack(nodes)

    def _batched(self, trees: list[Tree]) -> tuple[Tensor, Tensor]:
        order = [n for tree in trees for n in tree.postorder()]  # the output order
        height: dict[int, int] = {}
        for n in order:
            height[id(n)] = 0 if n.is_leaf else 1 + max(height[id(n.left)], height[id(n.right)])
        levels: list[list[Tree]] = [[] for _ in range(max(height.values()) + 1)]
        for n in order:
            levels[height[id(n)]].append(n)
        row: dict[int, int] = {}       # node → its row in the table of all vectors so far
        table = None
        for h, level in enumerate(levels):
            with scope(f"level={h}"):
                if h == 0:
                    words = backend.host_asarray([self._index(n.word) for n in level])
                    out = self.embedding(words)
                else:
                    lefts = backend.host_asarray([row[id(n.left)] for n in level])
                    rights = backend.host_asarray([row[id(n.right)] for n in level])
                    out = self._compose(table[lefts], table[rights])
            for n in level:
                row[id(n)] = len(row)
            table = out if table is None else cat([table, out])
        nodes = table[backend.host_asarray([row[id(n)] for n in order])]
        roots = table[backend.host_asarray([row[id(t)] for t in trees])]
        return roots, nodes

    def node_loss(self, trees, batched: bool = False) -> Tensor:
        """Mean −log p(label | node) over every node of every tree (all nodes need labels)."""
        if not self.num_classes:
            raise ValueError(f"{self.short_repr()}: node_loss needs num_classes > 0 (a classifier)")
        trees = self.trees(trees)
        labels = [n.label for tree in trees for n in tree.postorder()]
        if any(lab is None or not 0 <= lab < self.num_classes for lab in labels):
            raise ValueError(f"{self.short_repr()}: every node needs a label in [0, {self.num_classes}), "
                             f"got {labels}")
        _, nodes = self.forward(trees, batched)
        logp = self.classifier(nodes).log_softmax(-1)
        return -logp[backend.host_arange(len(labels)), backend.host_asarray(labels)].mean()


__all__ = ["RecursiveNN", "Tree", "TreeSyntaxError", "parse_tree"]
