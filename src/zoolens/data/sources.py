"""Evaluation-data sources: Fashion-MNIST IDX files, scikit-learn's digits, image folders.

Every source yields a :class:`RawSource`: an indexable collection of images (uint8,
H×W or H×W×C) with integer labels, the class names, and a cheap fingerprint that
changes when the underlying files change (it keys the preprocessing cache).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from zoolens.errors import ZoolensError

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".JPEG")


@dataclass
class RawSource:
    """A labelled image source before any model-specific preprocessing.

    ``get_image(i)`` returns a PIL image (or ``None`` if the file is corrupt);
    ``arrays`` holds all images at once for small in-memory sources.
    """

    name: str
    labels: np.ndarray
    classes: list[str]
    fingerprint: str
    image_size: tuple[int, int] | None  # (H, W) when fixed, None for folders
    channels: int | None
    location: str
    arrays: np.ndarray | None = None  # N×H×W(×C) uint8 for in-memory sources
    paths: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(len(self.labels))

    def get_image(self, i: int):
        from PIL import Image

        if self.arrays is not None:
            return Image.fromarray(self.arrays[i])
        try:
            with Image.open(self.paths[i]) as im:
                im.load()
                return im.convert("RGB")
        except Exception:  # PIL raises many types for broken files
            return None


# --------------------------------------------------------------------------- IDX
def _open_maybe_gz(path: Path) -> bytes:
    opener: Callable = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return fh.read()


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a numpy array.

    Hand-written because the format is 10 lines and torchvision's reader needs its
    own directory layout; validates the magic number and the payload size.
    """
    try:
        data = _open_maybe_gz(path)
    except (OSError, EOFError) as exc:
        raise ZoolensError(f"cannot read IDX file {path}: {exc}", "re-install the dataset files") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ZoolensError(f"{path} is not an IDX uint8 file (bad magic number)", "re-install the dataset files")
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">i4", count=ndim, offset=4).astype(int)
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(data) - offset != expected:
        raise ZoolensError(
            f"{path} is truncated or corrupt ({len(data) - offset} bytes of payload, expected {expected})",
            "re-install the dataset files",
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(tuple(dims))


def _find_idx(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def fashion_mnist_search_dirs() -> list[Path]:
    """Directories searched for Fashion-MNIST, in order."""
    dirs: list[Path] = []
    env = os.environ.get("ZOOLENS_DATA_DIR")
    if env:
        root = Path(env)
        dirs += [root, root / "fashion-mnist", root / "FashionMNIST" / "raw"]
    dirs += [Path(d) for d in FASHION_MNIST_DIRS]
    return dirs


def _file_digest(paths: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def load_fashion_mnist(split: str = "test", directory: str | os.PathLike | None = None) -> RawSource:
    """Fashion-MNIST from IDX files.

    Searched in ``directory`` if given, else ``$ZOOLENS_DATA_DIR`` (flat, ``fashion-mnist/``
    or torchvision's ``FashionMNIST/raw`` layout), else Debian's
    ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``).
    """
    if split not in _IDX_FILES:
        raise ZoolensError(f"unknown Fashion-MNIST split {split!r}", "use fashion-mnist:test or fashion-mnist:train")
    img_stem, lbl_stem = _IDX_FILES[split]
    dirs = [Path(directory)] if directory is not None else fashion_mnist_search_dirs()
    for d in dirs:
        img, lbl = _find_idx(d, img_stem), _find_idx(d, lbl_stem)
        if img and lbl:
            images, labels = read_idx(img), read_idx(lbl)
            if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
                raise ZoolensError(f"Fashion-MNIST files in {d} disagree ({images.shape} images, {labels.shape} labels)",
                                   "re-install the dataset files")
            return RawSource(
                name=f"fashion-mnist:{split}", labels=labels.astype(np.int64), classes=list(FASHION_MNIST_CLASSES),
                fingerprint=f"fmnist-{split}-{_file_digest([img, lbl])}", image_size=images.shape[1:3], channels=1,
                location=str(d), arrays=images,
            )
    tried = ", ".join(str(d) for d in dirs)
    raise ZoolensError(
        f"Fashion-MNIST {split} files ({img_stem}[.gz]) not found in: {tried}",
        "run `apt-get install dataset-fashion-mnist` or set ZOOLENS_DATA_DIR to a folder holding the IDX files",
    )


# ------------------------------------------------------------------------ digits
@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray, str]:
    """(images, labels, fingerprint) of the digits, parsed once per process (sklearn re-reads its CSV each call)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.clip(np.round(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()[:16]
    return images, labels, f"digits-{digest}"


def load_digits_source() -> RawSource:
    """scikit-learn's bundled 8×8 digits (1,797 images, 10 classes), scaled to uint8."""
    import sklearn

    images, labels, fingerprint = _digits_arrays()
    return RawSource(
        name="digits", labels=labels.copy(), classes=[str(i) for i in range(10)],
        fingerprint=fingerprint, image_size=(8, 8), channels=1,
        location=f"scikit-learn {sklearn.__version__} (bundled)", arrays=images.copy(),
    )


# ------------------------------------------------------------------- imagefolder
def load_image_folder(root: str | os.PathLike, class_index: str | os.PathLike | None = None) -> RawSource:
    """A torchvision ``ImageFolder`` layout: one sub-folder per class.

    Parameters
    ----------
    root:
        Folder with one sub-folder per class (e.g. ImageNet val in synset folders).
    class_index:
        Optional file fixing the class order: a text file with one folder name per
        line, or a JSON list / ``{"0": ["n01440764", ...], ...}`` mapping (the
        ``imagenet_class_index.json`` layout). Defaults to ``root/class_index.{txt,json}``
        when present, else sorted folder names (torchvision's and timm's order).
    """
    root = Path(root)
    if not root.is_dir():
        raise ZoolensError(f"image folder {root} does not exist", "pass an existing folder: imagefolder:PATH")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    if class_index is None:
        for cand in (root / "class_index.txt", root / "class_index.json"):
            if cand.is_file():
                class_index = cand
                break
    classes = _read_class_index(Path(class_index), folders) if class_index is not None else folders
    paths: list[str] = []
    labels: list[int] = []
    for label, cls in enumerate(classes):
        d = root / cls
        if not d.is_dir():
            continue
        for p in sorted(d.rglob("*")):
            if p.is_file() and p.suffix.lower() in {e.lower() for e in IMAGE_EXTENSIONS}:
                paths.append(str(p))
                labels.append(label)
    if not paths:
        raise ZoolensError(f"image folder {root} holds no images (expected {root}/CLASS/IMAGE.jpg)",
                           "point imagefolder: at a folder with one sub-folder of images per class")
    h = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.relpath(p, root)}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    h.update(json.dumps(classes).encode())
    return RawSource(
        name=f"imagefolder:{root}", labels=np.asarray(labels, dtype=np.int64), classes=list(classes),
        fingerprint=f"folder-{h.hexdigest()[:16]}", image_size=None, channels=3, location=str(root), paths=paths,
    )


def _read_class_index(path: Path, folders: list[str]) -> list[str]:
    if not path.is_file():
        raise ZoolensError(f"class-index file {path} does not exist", "pass an existing file or omit it")
    text = path.read_text()
    if path.suffix == ".json":
        obj = json.loads(text)
        if isinstance(obj, dict):
            classes = [obj[k][0] if isinstance(obj[k], list) else obj[k] for k in sorted(obj, key=int)]
        else:
            classes = [str(c) for c in obj]
    else:
        classes = [line.split()[0] for line in text.splitlines() if line.strip()]
    unknown = [c for c in classes if c not in folders]
    if unknown and len(unknown) == len(classes):
        raise ZoolensError(f"class-index file {path} names no folder of the image folder (first: {unknown[0]})",
                           "check that the file lists the class sub-folder names")
    return classes


# ---------------------------------------------------------------------- dispatch
def open_source(source: str) -> RawSource:
    """Resolve a data-source string: ``fashion-mnist[:train|test]``, ``digits``, ``imagefolder:PATH[::INDEX]``."""
    if source in ("fashion-mnist", "fmnist") or source.startswith(("fashion-mnist:", "fmnist:")):
        split = source.split(":", 1)[1] if ":" in source else "test"
        return load_fashion_mnist(split)
    if source == "digits":
        return load_digits_source()
    if source.startswith("imagefolder:"):
        spec = source[len("imagefolder:"):]
        path, _, index = spec.partition("::")
        return load_image_folder(path, index or None)
    raise ZoolensError(f"unknown data source {source!r}",
                       "use fashion-mnist[:test|train], digits or imagefolder:PATH")


def warn_skipped(n_bad: int, source: str) -> None:
    warnings.warn(f"skipped {n_bad} unreadable image(s) in {source} (strict=True, or --strict, makes this an error)",
                  stacklevel=2)
