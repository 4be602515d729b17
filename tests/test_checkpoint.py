"""Checkpoints round-trip nested state, are written atomically, and never unpickle."""

import zipfile

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import backend, checkpoint, optim


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
