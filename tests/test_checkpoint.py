"""Checkpoints round-trip nested state, are written atomically, and never unpickle."""

import os
import zipfile

import numpy as np
import pytest
from conftest import TORCH, needs_torch

import tinygrad_rnn as tg
from tinygrad_rnn import backend, checkpoint, nn, optim


class TinyModule:
    """Stands in for nn.Module: save() only needs state_dict()."""

    def __init__(self):
        self.weight_hh_l0 = tg.randn(3, 3, dtype="float64", requires_grad=True)
        self.bias_hh_l0 = tg.zeros(3, requires_grad=True)

    def state_dict(self):
        return {"weight_hh_l0": self.weight_hh_l0, "bias_hh_l0": self.bias_hh_l0}


def test_nested_state_round_trips_with_types_order_and_dtypes(tmp_path, device):
    model = TinyModule()
    state = {
        "model": model,
        "step": 7, "lr": 0.125, "name": "lstm-lm", "done": False, "best": None, "inf": float("inf"),
        "history": [1.5, 2.5], "betas": (0.9, 0.999), "ids": tg.tensor([1, 2, 3]),
        "table": {3: tg.tensor([1.0], device=device), "z": {"deep": np.arange(4, dtype=np.int32)}},
    }
    tg.save(state, tmp_path / "ckpt.npz")
    back = tg.load(tmp_path / "ckpt.npz")
    assert list(back) == list(state)
    assert list(back["model"]) == ["weight_hh_l0", "bias_hh_l0"]
    np.testing.assert_array_equal(back["model"]["weight_hh_l0"].numpy(), model.weight_hh_l0.numpy())
    assert back["model"]["weight_hh_l0"].dtype == tg.float64
    assert back["model"]["bias_hh_l0"].dtype == tg.float32
    assert not back["model"]["weight_hh_l0"].requires_grad
    assert (back["step"], back["lr"], back["name"], back["done"], back["best"]) == \
           (7, 0.125, "lstm-lm", False, None)
    assert back["inf"] == float("inf") and back["history"] == [1.5, 2.5]
    assert back["betas"] == (0.9, 0.999)
    assert back["ids"].dtype == tg.int64 and back["ids"].tolist() == [1, 2, 3]
    assert list(back["table"]) == [3, "z"]  # int keys stay ints (optimizer state uses them)
    assert back["table"][3].device == "cpu"  # a GPU checkpoint loads on the CPU
    assert back["table"]["z"]["deep"].dtype == np.int32


def test_file_is_a_plain_npz_with_path_named_entries(tmp_path):
    tg.save({"model": TinyModule(), "epoch": 2}, tmp_path / "ckpt.npz")
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as archive:
        assert set(archive.files) == {"model/weight_hh_l0", "model/bias_hh_l0", "__tinygrad_rnn__"}


def test_module_state_loads_straight_into_load_state_dict_form(tmp_path):
    model = TinyModule()
    tg.save(model, tmp_path / "m.npz")
    back = tg.load(tmp_path / "m.npz")
    assert list(back) == ["weight_hh_l0", "bias_hh_l0"]
    assert all(isinstance(v, tg.Tensor) for v in back.values())


def test_a_plain_npz_without_metadata_loads_as_a_flat_dict(tmp_path):
    np.savez(tmp_path / "torch_export.npz", weight=np.ones((2, 2)), bias=np.zeros(2))
    back = tg.load(tmp_path / "torch_export.npz")
    assert sorted(back) == ["bias", "weight"] and back["weight"].shape == (2, 2)


def test_optimizer_state_dict_saves_directly(tmp_path):
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    tg.save(opt, tmp_path / "opt.npz")
    back = tg.load(tmp_path / "opt.npz")
    assert back["state"][0]["step"] == 1
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    fresh = optim.Adam([w])
    fresh.load_state_dict(back)
    assert fresh.param_groups[0]["betas"] == (0.9, 0.999) and fresh.param_groups[0]["lr"] == 0.1


# ---- atomicity and damaged files ------------------------------------------------------------------

def test_a_crash_mid_save_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    tg.save({"w": tg.tensor([1.0, 2.0])}, path)
    before = path.read_bytes()

    def crashing_writer(file, arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(backend, "savez", crashing_writer)
    with pytest.raises(KeyboardInterrupt):
        tg.save({"w": tg.tensor([3.0, 4.0])}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]  # no temporary file left behind
    monkeypatch.undo()
    np.testing.assert_array_equal(tg.load(path)["w"].numpy(), [1.0, 2.0])


def test_truncated_or_corrupt_files_raise_an_error_naming_the_path(tmp_path):
    path = tmp_path / "ckpt.npz"
    tg.save({"w": tg.randn(50, 50)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(checkpoint.CheckpointError, match=rf"{path}.*truncated or corrupt"):
        tg.load(path)
    path.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(checkpoint.CheckpointError, match=str(path)):
        tg.load(path)


def test_a_file_holding_python_objects_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(checkpoint.CheckpointError, match=r"evil.npz.*pickled Python objects"):
        tg.load(path)


def test_damaged_structure_entry_is_reported(tmp_path):
    path = tmp_path / "ckpt.npz"
    with zipfile.ZipFile(path, "w") as z, z.open("__tinygrad_rnn__.npy", "w") as f:
        np.lib.format.write_array(f, np.asarray("{not json"))
    with pytest.raises(checkpoint.CheckpointError, match="structure entry is damaged"):
        tg.load(path)


def test_unsavable_values_are_refused_at_save_time(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store a set at 'tags'"):
        tg.save({"tags": {"a"}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dtype object"):
        tg.save({"o": np.array([None])}, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="both be stored as 'a/b'"):
        tg.save({"a/b": np.ones(1), "a": {"b": np.ones(1)}}, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


# ---- check_state -------------------------------------------------------------------------------------

def test_check_state_names_missing_unexpected_and_mismatched_keys():
    expected = {"weight_ih_l0": (8, 3), "weight_hh_l0": (8, 2)}
    with pytest.raises(KeyError, match=r"LSTM:\n  missing key\(s\): weight_hh_l0\n  unexpected key\(s\): "
                                       r"weight_hh\n  shape mismatch for weight_ih_l0: the state has "
                                       r"\(4, 3\), LSTM expects \(8, 3\)"):
        checkpoint.check_state(expected, {"weight_ih_l0": (4, 3), "weight_hh": (8, 2)},
                               strict=True, owner="LSTM")
    with pytest.raises(tg.ShapeError, match="shape mismatch for weight_ih_l0"):
        checkpoint.check_state(expected, {"weight_ih_l0": (4, 3)}, strict=False, owner="LSTM")
    assert checkpoint.check_state(expected, {"weight_ih_l0": (8, 3), "extra": ()}, strict=False) == \
        (["weight_hh_l0"], ["extra"])


def test_save_into_a_missing_folder_or_onto_a_directory_names_the_path(tmp_path):
    with pytest.raises(checkpoint.CheckpointError, match="does not exist"):
        tg.save({"x": tg.zeros(2)}, tmp_path / "nope" / "x.npz")
    with pytest.raises(checkpoint.CheckpointError, match="is a directory"):
        tg.save({"x": tg.zeros(2)}, tmp_path)


# ---- foreign files say what they are ----------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_a_torch_save_file_is_named_with_how_to_convert_it(tmp_path, zipped):
    path = tmp_path / "model.pt"
    TORCH.save(TORCH.nn.Linear(2, 3).state_dict(), path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(checkpoint.CheckpointError,
                       match=r"(?s)model.pt is a torch.save file.*"
                             r"safetensors.torch.save_file\(torch.load\("):
        tg.load(path)


def test_a_npy_array_and_other_files_are_named(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    with pytest.raises(checkpoint.CheckpointError, match=r"a.npy is a single .npy array.*numpy.load"):
        tg.load(tmp_path / "a.npy")
    import pickle
    (tmp_path / "p.pkl").write_bytes(pickle.dumps({"w": [1.0]}))
    with pytest.raises(checkpoint.CheckpointError, match=r"p.pkl is a Python pickle"):
        tg.load(tmp_path / "p.pkl")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(checkpoint.CheckpointError,
                       match=r"other.zip .*not a tinygrad_rnn checkpoint.*notes.txt"):
        tg.load(tmp_path / "other.zip")
    (tmp_path / "j.json").write_text("{}")
    with pytest.raises(checkpoint.CheckpointError, match=r"j.json is not a tinygrad_rnn checkpoint"):
        tg.load(tmp_path / "j.json")


# ---- load_state_dict is all or nothing --------------------------------------------------------------

def _lstm_and_copy():
    model = nn.LSTM(3, 4, num_layers=2)
    return model, {k: v.numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("spoil", ["shape", "missing", "unexpected", "dtype", "not_an_array"])
def test_a_failed_load_state_dict_leaves_the_module_exactly_as_it_was(spoil):
    model, before = _lstm_and_copy()
    state = {k: np.full(v.shape, 7.0, dtype=v.dtype) for k, v in before.items()}  # all valid ...
    last = list(state)[-1]  # ... except the LAST entry, so a one-by-one copy would write the rest
    if spoil == "shape":
        state[last] = np.ones((5,), dtype=np.float32)
    elif spoil == "missing":
        del state[last]
    elif spoil == "unexpected":
        state["weight_ih_l9"] = np.ones(2)
    elif spoil == "dtype":
        state[last] = np.array(["a"] * before[last].size).reshape(before[last].shape)
    else:
        state[last] = object()
    with pytest.raises((KeyError, ValueError, TypeError)):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


def test_a_conversion_failure_midway_writes_nothing(monkeypatch):
    model, before = _lstm_and_copy()
    calls = []

    def failing_to_array(value, device, dtype=None):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("out of device memory")
        return real(value, device, dtype)

    real = backend.to_array
    monkeypatch.setattr(backend, "to_array", failing_to_array)
    with pytest.raises(MemoryError):
        model.load_state_dict({k: v + 1 for k, v in before.items()})
    monkeypatch.undo()
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


# ---- a save killed mid-write ---------------------------------------------------------------------

KILLED_SAVE = """
import os, signal, sys
import tinygrad_rnn as tg
from tinygrad_rnn import backend

def dying_writer(file, arrays):
    file.write(b"PK" + b"x" * 1_000_000)  # a large half-written file
    file.flush()
    os.kill(os.getpid(), signal.SIGKILL)

backend.savez = dying_writer
tg.save({"w": tg.zeros(1000)}, sys.argv[1])
"""


def test_a_killed_save_keeps_the_old_file_and_the_next_save_removes_its_temporary(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "ckpt.npz"
    tg.save({"w": tg.tensor([1.0, 2.0])}, path)
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], capture_output=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == -9, done.stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "ckpt.npz"]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")  # what a kill leaves
    assert path.read_bytes() == before
    np.testing.assert_array_equal(tg.load(path)["w"].numpy(), [1.0, 2.0])
    tg.save({"w": tg.tensor([3.0])}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]
    unrelated = tmp_path / f".other.npz.{os.getpid()}.x.tmp"  # another target's temporary stays
    unrelated.write_bytes(b"")
    tg.save({"w": tg.tensor([4.0])}, path)
    assert unrelated.exists()
