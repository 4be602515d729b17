"""Binary parse trees: the :class:`Tree` node and the bracket-string parser (notes 001).

Recursive (tree) networks (:class:`tinygrad_rnn.nn.RecursiveNN`) read their input from here.
A tree is written as nested tuples ``(("the", "cat"), ("sat", "down"))`` or as a bracket
string: plain ``((the cat) (sat down))`` or with a class at every node, as in the Stanford
Sentiment Treebank and :func:`tinygrad_rnn.tasks.random_trees`: ``(2 (1 not) (0 bad))``.
Walking, parsing and printing trees are loops over explicit stacks, so deep trees are fine.
This is parsing, not a layer: it imports nothing from the engine.
"""

from __future__ import annotations

from tinygrad_rnn.errors import TreeSyntaxError


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


__all__ = ["Tree", "TreeSyntaxError", "parse_tree"]
