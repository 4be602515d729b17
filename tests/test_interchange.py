"""Models cross the border to PyTorch and back: state_dict keys, .npz and .safetensors files."""

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import checkpoint, nn

pytestmark = needs_torch
TOL = 1e-6  # float32 throughout

KINDS = ["lstm", "gru", "linear", "embedding"]


def _pair(kind: str):
    """The same architecture in both engines, each with its own random initialisation."""
    if kind == "lstm":
        return nn.LSTM(3, 5, num_layers=2, bidirectional=True), \
            TORCH.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    if kind == "gru":
        return nn.GRU(3, 5), TORCH.nn.GRU(3, 5)
    if kind == "linear":
        return nn.Linear(4, 3), TORCH.nn.Linear(4, 3)
    return nn.Embedding(7, 4), TORCH.nn.Embedding(7, 4)


def _outputs(kind: str, ours, theirs):
    """Both modules' outputs on the same input, as NumPy arrays."""
    rng = np.random.default_rng(1)
    if kind == "embedding":
        idx = rng.integers(0, 7, size=(2, 5))
        return ours(tg.tensor(idx)).numpy(), theirs(TORCH.from_numpy(idx)).detach().numpy()
    x = rng.standard_normal((6, 2, 3) if kind in ("lstm", "gru") else (2, 4)).astype(np.float32)
    a, b = ours(tg.Tensor(x)), theirs(TORCH.from_numpy(x))
    if kind in ("lstm", "gru"):
        a, b = a[0], b[0]
    return a.numpy(), b.detach().numpy()


def _assert_same(kind, ours, theirs):
    a, b = _outputs(kind, ours, theirs)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_has_torchs_keys_and_loads_into_torch(kind):
    ours, theirs = _pair(kind)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: TORCH.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    _assert_same(kind, ours, theirs)


@pytest.mark.parametrize("kind", KINDS)
def test_a_saved_checkpoint_loads_into_torch_without_metadata_in_the_way(kind, tmp_path):
    ours, theirs = _pair(kind)
    tg.save(ours, tmp_path / "m.npz")
    state = tg.load(tmp_path / "m.npz")
    theirs.load_state_dict({k: TORCH.from_numpy(v.numpy()) for k, v in state.items()})  # strict
    _assert_same(kind, ours, theirs)


@pytest.mark.parametrize("kind", KINDS)
def test_torch_state_dict_loads_here(kind):
    ours, theirs = _pair(kind)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    _assert_same(kind, ours, theirs)


@pytest.mark.parametrize("kind", KINDS)
def test_safetensors_from_us_to_torch(kind, tmp_path):
    import safetensors.torch
    ours, theirs = _pair(kind)
    tg.save(ours, tmp_path / "m.safetensors")
    theirs.load_state_dict(safetensors.torch.load_file(tmp_path / "m.safetensors"))
    _assert_same(kind, ours, theirs)


@pytest.mark.parametrize("kind", KINDS)
def test_safetensors_from_torch_to_us(kind, tmp_path):
    import safetensors.torch
    ours, theirs = _pair(kind)
    safetensors.torch.save_file(theirs.state_dict(), tmp_path / "t.safetensors")
    state = tg.load(tmp_path / "t.safetensors")
    assert sorted(state) == sorted(theirs.state_dict())
    ours.load_state_dict(state)
    _assert_same(kind, ours, theirs)
    opt = tg.optim.SGD(ours.parameters(), lr=0.1)  # loaded weights are writable parameters
    loss = _first_output(ours, kind).sum()
    loss.backward()
    opt.step()


def _first_output(model, kind):
    if kind == "embedding":
        return model(tg.tensor([[1, 2]]))
    out = model(tg.randn(6, 2, 3) if kind in ("lstm", "gru") else tg.randn(2, 4))
    return out[0] if kind in ("lstm", "gru") else out


def test_nested_state_round_trips_through_safetensors(tmp_path):
    model = nn.Linear(2, 3)
    opt = tg.optim.Adam(model.parameters(), lr=0.01)
    model(tg.randn(4, 2)).sum().backward()
    opt.step()
    tg.save({"model": model, "optim": opt, "epoch": 3}, tmp_path / "ckpt.safetensors")
    back = tg.load(tmp_path / "ckpt.safetensors")
    assert back["epoch"] == 3 and list(back["model"]) == ["weight", "bias"]
    assert back["optim"]["state"][0]["step"] == 1
    np.testing.assert_array_equal(back["model"]["weight"].numpy(), model.weight.numpy())
    fresh = tg.optim.Adam(nn.Linear(2, 3).parameters())
    fresh.load_state_dict(back["optim"])


def test_a_damaged_safetensors_file_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(checkpoint.CheckpointError, match="bad.safetensors is not a readable"):
        tg.load(path)


def test_a_missing_safetensors_package_says_how_to_install_it(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"optional package safetensors.*\[safetensors\]"):
        tg.save(nn.Linear(2, 2), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_readme_round_trip_runs(tmp_path, monkeypatch):
    """The "Coming from PyTorch" example (a ```py block: it needs torch, which the README's
    ```python blocks must not) runs as written."""
    import pathlib
    import re
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Coming from PyTorch", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```py\n(.*?)```", section, flags=re.S)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(block, "README.md round trip", "exec"), scope)
    x = np.random.default_rng(0).standard_normal((5, 2, 8)).astype(np.float32)
    np.testing.assert_allclose(scope["model"](tg.Tensor(x))[0].numpy(),
                               scope["torch_model"](TORCH.from_numpy(x))[0].detach().numpy(),
                               rtol=TOL, atol=TOL)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_a_module_file_holds_exactly_the_weights(tmp_path, suffix):
    """No metadata entry in a module's file: numpy/safetensors alone feed it to PyTorch."""
    import safetensors.torch
    ours, theirs = _pair("lstm")
    tg.save(ours, tmp_path / f"m{suffix}")
    if suffix == ".npz":
        with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
            state = {k: TORCH.from_numpy(archive[k]) for k in archive.files}
    else:
        state = safetensors.torch.load_file(tmp_path / "m.safetensors")
    assert sorted(state) == sorted(theirs.state_dict())
    theirs.load_state_dict(state)
    _assert_same("lstm", ours, theirs)
    assert list(tg.load(tmp_path / f"m{suffix}")) == list(ours.state_dict())  # in module order
