"""ImageNet evaluation subsets on a synthetic val folder of the same layout (20 synsets)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zoolens.data.loading import load_data
from zoolens.data.sources import open_source
from zoolens.errors import ZoolensError
from zoolens.models.wrapper import PreprocessConfig
from zoolens.zoo.paper import imagenet_subset, imagenet_synsets, imagenet_val_source

PER_CLASS = 6


@pytest.fixture(scope="module")
def val_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet") / "val"
    synsets = imagenet_synsets()[::50]  # 20 synsets spread over the index
    rng = np.random.default_rng(0)
    for s in synsets:
        (root / s).mkdir(parents=True)
        for j in range(PER_CLASS):
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(root / s / f"ILSVRC2012_val_{j:08d}.JPEG")
    return root


def test_class_index_is_timms():
    from timm.data import ImageNetInfo

    synsets = imagenet_synsets()
    assert len(synsets) == 1000 and synsets == sorted(synsets) == list(ImageNetInfo().label_names())


def test_labels_are_timm_indices(val_root):
    src = open_source(imagenet_val_source(val_root))
    assert len(src) == 20 * PER_CLASS
    synsets = imagenet_synsets()
    for path, label in zip(src.paths, src.labels):
        assert path.split("/")[-2] == synsets[label]
    assert set(src.labels.tolist()) == set(range(0, 1000, 50))


def test_subset_is_stratified_and_seeded(val_root):
    a = imagenet_subset(val_root, 40, seed=0)
    assert len(a) == 40 and (a.groupby("synset").size() == 2).all()
    assert a.equals(imagenet_subset(val_root, 40, seed=0))
    assert not a["path"].equals(imagenet_subset(val_root, 40, seed=1)["path"])
    # load_data draws the very same images for the same source, n and seed.
    data = load_data(imagenet_val_source(val_root), n=40, seed=0, model=PreprocessConfig(input_size=(3, 8, 8)))
    assert np.array_equal(data.indices, a["index"].to_numpy()) and data.labels.tolist() == a["label"].tolist()


def test_paper_sizes_need_a_full_val_set(val_root):
    with pytest.raises(ZoolensError, match="10000"):
        imagenet_subset(val_root, "criticality")


def test_bad_layouts_fail_with_the_fix(tmp_path):
    with pytest.raises(ZoolensError, match="does not exist"):
        imagenet_val_source(tmp_path / "nope")
    (tmp_path / "ILSVRC2012_val_00000001.JPEG").write_bytes(b"")
    with pytest.raises(ZoolensError, match="synset"):
        imagenet_val_source(tmp_path)
