"""Recursive (tree) nets: parsing, the composition formula, shared-W gradients, batching, errors."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.errors import TreeSyntaxError
from tinygrad_rnn.tasks import random_trees
from tinygrad_rnn.tasks.trees import WORDS


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)


VOCAB = ["the", "cat", "sat", "down", "not", "good"]


def test_parse_plain_and_labelled_brackets_and_print_them_back():
    tree = nn.parse_tree("((the cat) (sat down))")
    assert tree.leaves() == ["the", "cat", "sat", "down"] and tree.label is None
    assert str(tree) == "((the cat) (sat down))"
    assert [str(n) for n in tree.postorder()] == [
        "the", "cat", "(the cat)", "sat", "down", "(sat down)", "((the cat) (sat down))"]
    labelled = nn.parse_tree("(2 (1 not) (3 good))")
    assert [n.label for n in labelled.postorder()] == [1, 3, 2]
    assert labelled.left.word == "not" and str(labelled) == "(2 (1 not) (3 good))"
    for text in random_trees(20, seed=1):  # the generator's SST trees round-trip
        assert str(nn.parse_tree(text)) == text


def test_nested_tuples_equal_the_bracket_string():
    model = nn.RecursiveNN(VOCAB, 3)
    from_tuples, _ = model((("the", "cat"), ("sat", "down")))
    from_text, _ = model("((the cat) (sat down))")
    np.testing.assert_array_equal(from_tuples.numpy(), from_text.numpy())


def test_root_is_the_composition_formula():
    model = nn.RecursiveNN(VOCAB, 3).double()
    root, nodes = model("((the cat) sat)")
    E, W, b = model.embedding.weight.numpy(), model.W.numpy(), model.b.numpy()
    x = {w: E[VOCAB.index(w)] for w in VOCAB}
    p1 = np.tanh(W @ np.concatenate([x["the"], x["cat"]]) + b)
    p = np.tanh(W @ np.concatenate([p1, x["sat"]]) + b)
    np.testing.assert_allclose(root.numpy()[0], p, rtol=1e-12)
    assert nodes.shape == (5, 3)
    np.testing.assert_allclose(nodes.numpy()[2], p1, rtol=1e-12)


@pytest.mark.parametrize("batched", [False, True], ids=["node-by-node", "batched"])
def test_tree_gradcheck(batched):
    model = nn.RecursiveNN(list(WORDS), 3, num_classes=3).double()
    trees = random_trees(3, seed=2, max_leaves=5)
    assert tg.gradcheck(lambda *ps: model.node_loss(trees, batched=batched),
                        list(model.parameters()), directions=4)
    assert tg.gradcheck(lambda W, b: model(trees, batched=batched)[0], [model.W, model.b])


def test_batched_over_trees_equals_node_by_node():
    model = nn.RecursiveNN(list(WORDS), 4, num_classes=3).double()
    trees = random_trees(5, seed=3)
    one_roots, one_nodes = model(trees)
    roots, nodes = model(trees, batched=True)
    np.testing.assert_allclose(roots.numpy(), one_roots.numpy(), rtol=1e-12)
    np.testing.assert_allclose(nodes.numpy(), one_nodes.numpy(), rtol=1e-12)
    alone, _ = model(trees[3])
    np.testing.assert_allclose(roots.numpy()[3], alone.numpy()[0], rtol=1e-12)


def test_shared_W_gradient_is_the_sum_of_per_node_contributions():
    model = nn.RecursiveNN(VOCAB, 3).double()
    with tg.record_messages() as rec:
        root, _ = model("(((the cat) sat) (not (down good)))")
        root.sum().backward()
    per_node = [m[3] for m in rec.to(model.W.node)]
    assert len(per_node) == 5  # one message per internal node: 6 leaves → 5 compositions
    np.testing.assert_allclose(sum(per_node), model.W.grad.numpy(), atol=1e-12)
    # the messages come from the internal nodes' scopes (post-order numbers 2, 4, 8, 9, 10)
    consumers = {m[0].scope for m in rec.to(model.W.node)}
    assert consumers == {f"tree=0/node={k}" for k in (2, 4, 8, 9, 10)}


def test_each_node_has_its_own_scope_and_the_notes_names():
    model = nn.RecursiveNN(VOCAB, 3)
    root, _ = model("((the cat) (sat down))")
    assert root.node is not None
    seen, stack, names = set(), [root.node], set()
    while stack:
        n = stack.pop()
        if id(n) in seen or not hasattr(n, "inputs"):
            continue
        seen.add(id(n))
        names.add((n.scope, n.name))
        stack.extend(i for i in n.inputs if hasattr(i, "inputs"))
    assert {("tree=0/node=2", "p"), ("tree=0/node=5", "p"), ("tree=0/node=6", "p"),
            ("tree=0/node=0", "the")} <= names


def test_per_node_classifier_learns_sentiment_labels():
    trees = random_trees(40, seed=4, max_leaves=4)
    model = nn.RecursiveNN(list(WORDS), 8, num_classes=3)
    first = None
    for _ in range(60):
        loss = model.node_loss(trees, batched=True)
        first = first if first is not None else float(loss)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.5 * p.grad.data
    assert float(loss) < 0.6 * first


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,message,position", [
    ("", "empty tree", 0),
    ("((the cat) (sat down)", r"'\(' is never closed", 0),
    ("((the cat) (sat down)))", "text after the end of the tree", 22),
    ("((the cat sat) down)", "a node with 3 children", 1),
    ("(the ())", "empty brackets", 5),
    ("(2 (1 not) good)", "two children must be bracketed subtrees", 11),
    ("(2 (not) (1 good))", "must start with its integer class", 4),
])
def test_malformed_bracket_strings_name_the_position(text, message, position):
    with pytest.raises(TreeSyntaxError, match=message) as info:
        nn.parse_tree(text)
    assert info.value.position == position and f"at position {position}" in str(info.value)


def test_bad_trees_name_the_module():
    model = nn.RecursiveNN(VOCAB, 3, num_classes=2)
    with pytest.raises(TreeSyntaxError, match=r"RecursiveNN\(vocab=6.*tree 1: parse_tree: empty tree"):
        model(["(the cat)", ""])
    with pytest.raises(ValueError, match=r"RecursiveNN.*empty list of trees"):
        model([])
    with pytest.raises(ValueError, match=r"RecursiveNN.*exactly 2 children, got 3"):
        model(("the", "cat", "sat"))
    with pytest.raises(KeyError, match=r"RecursiveNN.*'dog' is not in the vocabulary"):
        model("(the dog)")
    with pytest.raises(ValueError, match=r"RecursiveNN.*every node needs a label"):
        model.node_loss("(the cat)")


def test_tree_parsing_lives_outside_the_network_and_is_re_exported():
    import ast
    import inspect

    import tinygrad_rnn.nn.recursive as network
    import tinygrad_rnn.trees as trees
    assert nn.parse_tree is trees.parse_tree and nn.Tree is trees.Tree
    assert network.TreeSyntaxError is trees.TreeSyntaxError
    imported = [n for n in ast.walk(ast.parse(inspect.getsource(trees)))
                if isinstance(n, (ast.Import, ast.ImportFrom))]
    # parsing needs nothing of the engine (only the exceptions module, which imports nothing)
    assert [n.module for n in imported] == ["__future__", "tinygrad_rnn.errors"]
