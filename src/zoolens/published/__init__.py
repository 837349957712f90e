"""The papers' own published raw results, shipped unmodified, and their importers.

``zoolens import criticality published`` and ``zoolens import sat published`` turn them
into ordinary run directories (see :func:`import_criticality`, :func:`import_sat`).
Provenance and licences: ``files/README.md``.
"""

from __future__ import annotations

from pathlib import Path

from zoolens.io import sha256_file  # one SHA-256 helper for every file check

FILES_DIR = Path(__file__).parent / "files"

#: Shipped files with the SHA-256 of the authors' originals (checked by the tests).
PUBLISHED_FILES: dict[str, str] = {
    "layer_criticality_results.csv": "ff568ea87b8ebeea49f4fa70e7b07cc7108b9d9308bb0d0deb197b6a9eb059b3",
    "layer_criticality_r50_categories.json": "7e0c42d2c1489aacf1044a47adf0eb751fe4347e3e205f2850214dc497a8cb02",
    "SAT_release.csv": "d2ddbfe54d1a0e8644a9373d2f69de400c2ce06dc2e23c55b0f589d7f7f860f1",
    "SAT_model_features.csv": "8e5c16fbbb12e9d3f83a662029645bbc50bff24082c6ebb3a55ae0e122547f61",
}

#: Where each published file comes from (recorded in imported runs' manifests).
SOURCES: dict[str, dict[str, str]] = {
    "criticality": {"repository": "https://github.com/paulgavrikov/layer_criticality",
                    "commit": "c123a9fa68b52ea378b1b8ffe1a2cc7b56fce78d", "path": "raw-results/results.csv",
                    "licence": "CC BY-SA 4.0",
                    "attribution": "Gavrikov, Agnihotri, Keuper, Keuper: How Do Training Methods Influence the "
                                   "Utilization of Vision Models? NeurIPS 2024 IAI Workshop"},
    "sat": {"repository": "https://github.com/J-H-Hwang/SAT", "commit": "79f23d152680b8c0fb3744dcf7a373f21e1e3aea",
            "path": "SAT_release.csv", "licence": "none stated in the repository; cite the paper",
            "attribution": "Hwang, Han, Heo, Park, Chun, Lee: Similarity of Neural Architectures using Adversarial "
                           "Attack Transferability. ECCV 2024"},
}


def published_path(name: str) -> Path:
    """Path of a shipped published file (one of :data:`PUBLISHED_FILES`)."""
    if name not in PUBLISHED_FILES:
        raise KeyError(f"no published file {name!r}; shipped: {', '.join(PUBLISHED_FILES)}")
    return FILES_DIR / name


__all__ = ["FILES_DIR", "PUBLISHED_FILES", "SOURCES", "published_path", "sha256_file"]
