"""Recursive (tree) neural networks: a recurrent net over a parse tree instead of a chain (notes 001).

A leaf is a word vector x_w (a row of an embedding table); every internal node composes its
two children with one shared weight matrix,

    p = tanh(W [c_left ; c_right] + b)          W (d, 2d), b (d,), the same at every node

bottom up, so a sentence of n words becomes one vector at the root after n − 1 compositions.
A per-node classifier ŷ = softmax(W_s p + b_s) gives sentiment-style labels at every node.
Like the weights of an RNN shared across time steps, W is shared across nodes, and its
gradient is the sum of the per-node contributions ∂C/∂W = Σ_nodes ∂C/∂W_node.

Trees are :class:`Tree` objects, nested tuples ``(("the", "cat"), ("sat", "down"))`` or bracket
strings: plain ``((the cat) (sat down))`` or with a class at every node, as in the Stanford
Sentiment Treebank and :func:`tinygrad_rnn.tasks.random_trees`: ``(2 (1 not) (0 bad))``.
Walking, parsing and printing trees are loops over explicit stacks, so deep trees are fine.
"""

from __future__ import annotations

import math

from tinygrad_rnn import backend
from tinygrad_rnn.autograd import scope
from tinygrad_rnn.functions import cat, stack
from tinygrad_rnn.nn.layers import Embedding, Linear, new_parameter
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor


class TreeSyntaxError(ValueError):
    """A malformed bracket string; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


def _syntax_error(message: str, text: str, position: int) -> TreeSyntaxError:
    return TreeSyntaxError(f"parse_tree: {message} at position {position}: "
                           f"{text[:position]}⟨here⟩{text[position:]}", position)


class Tree:
    """A binary tree node: a leaf holds a ``word``, an internal node ``left`` and ``right``;
    ``label`` is the node's class (or None)."""

    __slots__ = ("word", "left", "right", "label")

    def __init__(self, word=None, left: Tree | None = None, right: Tree | None = None,
                 label: int | None = None):
        if (word is None) == (left is None or right is None):
            raise ValueError("Tree: a node is either a leaf with a word or has two children")
        self.word, self.left, self.right, self.label = word, left, right, label

    @property
    def is_leaf(self) -> bool:
        return self.left is None

    def postorder(self) -> list[Tree]:
        """Every node, children before their parent (the order of the bottom-up pass)."""
        out, stack_ = [], [(self, False)]
        while stack_:
            node, expanded = stack_.pop()
            if node.is_leaf or expanded:
                out.append(node)
            else:
                stack_ += [(node, True), (node.right, False), (node.left, False)]
        return out

    def leaves(self) -> list:
        return [n.word for n in self.postorder() if n.is_leaf]

    @classmethod
    def from_nested(cls, obj) -> Tree:
        """A Tree from nested 2-tuples whose leaves are words (str) or token ids (int)."""
        if isinstance(obj, Tree):
            return obj
        built: dict[int, Tree] = {}
        stack_ = [(obj, False)]
        while stack_:
            item, expanded = stack_.pop()
            if isinstance(item, tuple):
                if len(item) != 2:
                    raise ValueError(f"Tree: an internal node needs exactly 2 children, got "
                                     f"{len(item)} in {item!r}")
                if expanded:
                    built[id(item)] = cls(left=_child(built, item[0]), right=_child(built, item[1]))
                else:
                    stack_ += [(item, True), (item[1], False), (item[0], False)]
            elif not isinstance(item, (str, int, Tree)) or item == "":
                raise ValueError(f"Tree: leaves must be non-empty words or token ids, got {item!r}")
        return _child(built, obj)

    def __str__(self) -> str:
        """The bracket string (with labels when every node has one)."""
        labelled = all(n.label is not None for n in self.postorder())
        text: dict[int, str] = {}
        for n in self.postorder():
            body = str(n.word) if n.is_leaf else f"{text[id(n.left)]} {text[id(n.right)]}"
            if labelled:
                text[id(n)] = f"({n.label} {body})"
            else:
                text[id(n)] = body if n.is_leaf else f"({body})"
        return text[id(self)]

    def __repr__(self) -> str:
        return f"Tree({str(self)!r})"


def _child(built: dict, item) -> Tree:
    if isinstance(item, Tree):
        return item
    return built[id(item)] if isinstance(item, tuple) else Tree(word=item)


def parse_tree(text: str, labelled: bool | None = None) -> Tree:
    """Parse ``((the cat) (sat down))`` or, labelled, ``(2 (1 not) (3 good))``.

    ``labelled=None`` decides from the text: labelled when the first bracket opens with an
    integer followed by more. Errors name the position in the string.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_tree needs a string, got {type(text).__name__}")
    tokens, i = [], 0
    while i < len(text):           # tokens: "(", ")" and words, each with its position
        if text[i].isspace():
            i += 1
        elif text[i] in "()":
            tokens.append((text[i], i))
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in "()":
                j += 1
            tokens.append((text[i:j], i))
            i = j
    if not tokens:
        raise _syntax_error("empty tree: the bracket string has no words", text, 0)
    if labelled is None:
        labelled = (len(tokens) > 2 and tokens[0][0] == "(" and tokens[1][0].isdigit()
                    and tokens[2][0] != ")")
    frames: list = []              # open brackets: [position, items]
    done = None
    for tok, pos in tokens:
        if done is not None:
            raise _syntax_error("text after the end of the tree", text, pos)
        if tok == "(":
            frames.append([pos, []])
        elif tok == ")":
            if not frames:
                raise _syntax_error("unbalanced ')'", text, pos)
            start, items = frames.pop()
            node = _close(items, labelled, text, start)
            if frames:
                frames[-1][1].append(node)
            else:
                done = node
        elif not frames:
            if len(tokens) == 1:
                return Tree(word=tok)
            raise _syntax_error(f"word {tok!r} outside any bracket", text, pos)
        else:
            frames[-1][1].append((tok, pos))
    if frames:
        raise _syntax_error("'(' is never closed", text, frames[-1][0])
    return done


def _close(items: list, labelled: bool, text: str, start: int) -> Tree:
    """The node of one bracket pair from its items: (word, position) pairs and subtrees."""
    label = None
    if labelled:
        if not items or isinstance(items[0], Tree) or not items[0][0].isdigit():
            raise _syntax_error("a labelled node must start with its integer class", text,
                                start + 1)
        label, items = int(items[0][0]), items[1:]
        if len(items) == 1 and isinstance(items[0], Tree):
            raise _syntax_error("a labelled node holds a word or two subtrees, not one subtree",
                                text, start)
        for item in items if len(items) == 2 else ():
            if not isinstance(item, Tree):
                raise _syntax_error("a labelled node's two children must be bracketed subtrees "
                                    "with their own class", text, item[1])
    if not items:
        raise _syntax_error("a node without a word or children" if labelled else
                            "empty brackets", text, start)
    if len(items) > 2:
        raise _syntax_error(f"a node with {len(items)} children (recursive nets need binary "
                            f"trees)", text, start)
    nodes = [it if isinstance(it, Tree) else Tree(word=it[0]) for it in items]
    node = nodes[0] if len(nodes) == 1 else Tree(left=nodes[0], right=nodes[1])
    if label is not None:
        node.label = label
    return node


def _short(module: Module) -> str:
    return f"{type(module).__name__}({module.extra_repr()})"


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
            raise ValueError(f"{_short(self)}: got an empty list of trees")
        out = []
        for k, t in enumerate(items):
            try:
                out.append(parse_tree(t) if isinstance(t, str) else Tree.from_nested(t))
            except TreeSyntaxError as e:
                raise TreeSyntaxError(f"{_short(self)}: tree {k}: {e}", e.position) from None
            except ValueError as e:
                raise ValueError(f"{_short(self)}: tree {k}: {e}") from None
        return out

    def _index(self, word) -> int:
        if self.vocab is None:
            idx = word if isinstance(word, int) else -1
        else:
            idx = word if isinstance(word, int) else self.vocab.get(word, -1)
        if not 0 <= idx < self.embedding.num_embeddings:
            raise KeyError(f"{_short(self)}: the leaf {word!r} is not in the vocabulary")
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
            raise ValueError(f"{_short(self)}: node_loss needs num_classes > 0 (a classifier)")
        trees = self.trees(trees)
        labels = [n.label for tree in trees for n in tree.postorder()]
        if any(lab is None or not 0 <= lab < self.num_classes for lab in labels):
            raise ValueError(f"{_short(self)}: every node needs a label in [0, {self.num_classes}), "
                             f"got {labels}")
        _, nodes = self.forward(trees, batched)
        logp = self.classifier(nodes).log_softmax(-1)
        return -logp[backend.host_arange(len(labels)), backend.host_asarray(labels)].mean()


__all__ = ["RecursiveNN", "Tree", "TreeSyntaxError", "parse_tree"]
