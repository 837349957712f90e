"""Evaluation data: sources, stratified subsets, preprocessing, the uint8 cache, bad input."""

from __future__ import annotations

import gzip
import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from zoolens.data import load_data, open_source, stratified_subset
from zoolens.data.sources import load_fashion_mnist, read_idx
from zoolens.errors import ZoolensError
from zoolens.models.wrapper import PreprocessConfig

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"


def test_fashion_mnist_test_split_has_10000_images_of_10_classes():
    src = open_source("fashion-mnist")
    assert len(src) == 10_000
    assert len(src.classes) == 10
    assert np.bincount(src.labels).tolist() == [1000] * 10
    assert src.arrays.shape == (10_000, 28, 28) and src.arrays.dtype == np.uint8


def test_fashion_mnist_train_split_and_torchvision_raw_layout(tmp_path, monkeypatch):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):  # torchvision keeps them unzipped
        with gzip.open(f"{FMNIST_DIR}/{f}.gz") as fh:
            (raw / f).write_bytes(fh.read())
    monkeypatch.setenv("ZOOLENS_DATA_DIR", str(tmp_path))
    src = open_source("fashion-mnist:test")
    assert src.location == str(raw)
    assert np.array_equal(src.arrays, load_fashion_mnist("test", FMNIST_DIR).arrays)


def test_missing_dataset_directory_names_paths_and_fix(tmp_path):
    with pytest.raises(ZoolensError, match=r"not found in: .*empty.*apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("test", tmp_path / "empty")


def test_truncated_idx_file_is_reported(tmp_path):
    data = gzip.open(f"{FMNIST_DIR}/t10k-labels-idx1-ubyte.gz").read()
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(data[:-10])
    with pytest.raises(ZoolensError, match="truncated or corrupt"):
        read_idx(tmp_path / "t10k-labels-idx1-ubyte")


@pytest.mark.parametrize("n", [10, 97, 1000])
def test_stratified_subset_is_seeded_and_proportional(n):
    labels = open_source("fashion-mnist").labels
    a, b, c = stratified_subset(labels, n, 0), stratified_subset(labels, n, 0), stratified_subset(labels, n, 1)
    assert len(a) == n and len(np.unique(a)) == n
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    counts = np.bincount(labels[a], minlength=10)
    assert counts.max() - counts.min() <= 1  # balanced source → balanced subset


def test_stratified_subset_keeps_unequal_class_proportions():
    labels = np.array([0] * 700 + [1] * 200 + [2] * 100)
    idx = stratified_subset(labels, 100, seed=3)
    assert np.bincount(labels[idx]).tolist() == [70, 20, 10]


def test_n_larger_than_source_is_an_error():
    with pytest.raises(ZoolensError, match="asked for 2000 images but the source holds only 1797"):
        load_data("digits", n=2000)


def test_digits_native_and_preprocessed_for_an_rgb_model():
    native = load_data("digits", n=50)
    assert native.images.shape == (50, 1, 8, 8) and native.images.dtype == torch.uint8
    cfg = PreprocessConfig(input_size=(3, 32, 32), interpolation="bilinear", crop_pct=1.0)
    rgb = load_data("digits", n=50, model=cfg)
    assert rgb.images.shape == (50, 3, 32, 32)
    # grayscale expands to identical channels
    assert torch.equal(rgb.images[:, 0], rgb.images[:, 1]) and torch.equal(rgb.images[:, 1], rgb.images[:, 2])
    assert torch.equal(native.labels, rgb.labels)


def test_preprocessing_matches_timm_eval_transform():
    from timm.data import create_transform

    cfg = PreprocessConfig(input_size=(3, 64, 64), interpolation="bicubic", crop_pct=0.875)
    ds = load_data("fashion-mnist", n=20, seed=4, model=cfg)
    src = open_source("fashion-mnist")
    t = create_transform(input_size=(3, 64, 64), interpolation="bicubic", crop_pct=0.875, normalize=False)
    for j in (0, 7, 19):
        expected = np.asarray(t(Image.fromarray(src.arrays[ds.indices[j]]).convert("RGB")))
        assert np.array_equal(ds.images[j].numpy(), expected)
        assert int(ds.labels[j]) == int(src.labels[ds.indices[j]])


def test_cache_hit_does_not_decode_again(monkeypatch):
    cfg = PreprocessConfig(input_size=(3, 40, 40), interpolation="bilinear", crop_pct=0.9)
    first = load_data("fashion-mnist", n=30, seed=2, model=cfg)
    assert first.cache_path is not None and (first.cache_path / "meta.json").is_file()
    import zoolens.data.loading as loading

    monkeypatch.setattr(loading, "_decode", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded twice")))
    second = load_data("fashion-mnist", n=30, seed=2, model=cfg)
    assert torch.equal(first.images, second.images) and first.fingerprint == second.fingerprint
    assert not list(first.cache_path.glob("*.tmp"))


def _make_folder(root, n_per_class=3, size=(20, 16)):
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(n_per_class):
            Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / cls / f"{i}.png")


def test_image_folder_with_a_corrupt_file_skips_it_with_a_warning_or_fails_when_strict(tmp_path):
    _make_folder(tmp_path)
    (tmp_path / "dog" / "broken.png").write_bytes(b"\x89PNG not really")
    cfg = PreprocessConfig(input_size=(3, 24, 24), crop_pct=1.0)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        ds = load_data(f"imagefolder:{tmp_path}", model=cfg, use_cache=False)
    assert len(ds) == 6 and ds.n_skipped == 1 and ds.classes == ["cat", "dog"]
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ZoolensError, match="broken.png is unreadable"):
        load_data(f"imagefolder:{tmp_path}", model=cfg, strict=True, use_cache=False)


def test_image_folder_class_index_file_sets_label_order(tmp_path):
    _make_folder(tmp_path)
    (tmp_path / "class_index.txt").write_text("dog\ncat\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        src = open_source(f"imagefolder:{tmp_path}")
    assert src.classes == ["dog", "cat"] and src.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_empty_image_folder_and_missing_folder_are_errors(tmp_path):
    (tmp_path / "cls").mkdir()
    with pytest.raises(ZoolensError, match="holds no images"):
        open_source(f"imagefolder:{tmp_path}")
    with pytest.raises(ZoolensError, match="does not exist"):
        open_source(f"imagefolder:{tmp_path / 'nope'}")


def test_unknown_source_is_an_error():
    with pytest.raises(ZoolensError, match="unknown data source 'cifar'"):
        open_source("cifar")
