"""Import the criticality paper's published raw results as an ordinary criticality run.

The authors' ``results.csv`` (51 ResNet-50 × 54 layers × 3 trials; provenance in
``files/README.md``) becomes the same tables a native ``zoolens criticality`` run
writes: ``criticality.parquet/.csv`` (one row per model, layer, seed),
``criticality_summary.csv`` (mean over seeds, standard error, role), ``models.csv`` and
``manifest.json``. Criticality = 1 − ``pred_cos_sim`` (the authors' notebook plots
(1 − mean over trials) × 100). Models are matched to ``zoo:paper-r50`` entries by the
authors' id (kept as ``published_id``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.criticality.labels import paper_labels
from zoolens.criticality import ROW_COLUMNS, summarize
from zoolens.criticality.config import AUXILIARY_BELOW, CRITICAL_ABOVE
from zoolens.errors import ZoolensError
from zoolens.published import SOURCES, published_path
from zoolens.published.imported import check_out, write_imported_run
from zoolens.zoo.metadata import zoo_metadata
from zoolens.zoo.paper.r50 import ZOO as R50

REQUIRED_COLUMNS = ("model_id", "layer", "trial", "pred_cos_sim")
OPTIONAL_COLUMNS = ("pred_l1_err", "pred_l2_err", "top1_acc")
#: The authors' notebook drops this model (weights frozen at random init; not in the paper's 50).
FROZEN_RANDOM = "resnet50_frozen_random"
AUTHORS_N_IMAGES = 10000  # the authors' ImageNet validation subset (every layer, every trial)
#: The authors' category names → zoolens's (paper-r50) ones.
CATEGORY_NAMES = {"training_recipes": "improved_training", "contrastive": "ssl"}


def _resnet50_layers() -> dict[str, tuple[str, int]]:
    """torchvision ResNet-50 conv/linear module path → (module type, parameter count), built on the meta device."""
    import torch
    import torchvision

    with torch.device("meta"):
        net = torchvision.models.resnet50()
    return {n: (type(m).__name__, sum(p.numel() for p in m.parameters()))
            for n, m in net.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))}


def _read(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ZoolensError(f"cannot read {path} as CSV ({type(e).__name__}: {str(e).splitlines()[0][:120]})",
                           "pass the authors' raw-results/results.csv") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ZoolensError(f"{path} lacks the column(s) {', '.join(missing)}",
                           f"the authors' results.csv has {', '.join(REQUIRED_COLUMNS)} (and more)")
    return df


def _check_values(df: pd.DataFrame, path: Path) -> None:
    for col in ("pred_cos_sim", "trial") + tuple(c for c in ("pred_l1_err", "pred_l2_err", "top1_acc")
                                                  if c in df.columns):
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = vals.isna() | ~np.isfinite(vals.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ZoolensError(f"{path} row {i + 2}, column {col}: {df[col].iloc[i]!r} is not a finite number",
                               "fix or remove that row")
        df[col] = vals
    cos = df["pred_cos_sim"]
    out = (cos < -1e-6) | (cos > 1 + 1e-6)
    if out.any():
        i = int(np.flatnonzero(out.to_numpy())[0])
        raise ZoolensError(f"{path} row {i + 2}: pred_cos_sim = {cos.iloc[i]} is not a cosine similarity of "
                           "probability vectors (must lie in [0, 1])", "check that the column holds similarities")


def import_criticality(source: str | Path = "published", out: str | Path = "runs/published-criticality", *,
                       keep_frozen_random: bool = False, categories: str | Path | None = None,
                       auxiliary_below: float = AUXILIARY_BELOW, critical_above: float = CRITICAL_ABOVE) -> Path:
    """Import the criticality paper's raw results as a criticality run directory.

    Parameters
    ----------
    source:
        ``"published"`` (the shipped, unmodified ``layer_criticality_results.csv``) or the
        path of a CSV in the same format (columns ``model_id, layer, trial, pred_cos_sim``;
        ``pred_l1_err, pred_l2_err, top1_acc`` are used when present).
    out:
        The run directory to write (absent, empty, or a previous import: replaced).
    keep_frozen_random:
        Keep ``resnet50_frozen_random``, which the authors' notebook drops (its category,
        ``freezing``, comes from the authors' category file).
    categories:
        The authors' category JSON (default: the shipped ``r50_categories.json``), used for
        models outside ``zoo:paper-r50``.
    auxiliary_below, critical_above:
        Role thresholds of the summary (the paper's values were lost in extraction).

    Returns
    -------
    pathlib.Path
        The run directory.

    Notes
    -----
    Gavrikov et al., "How Do Training Methods Influence the Utilization of Vision
    Models?" (criticality paper, Sec. 3): criticality = cosine distance of the softmax
    outputs before and after re-initializing one layer, mean over 10,000 ImageNet
    validation images, 3 trials.
    """
    if not 0 <= auxiliary_below <= critical_above:
        raise ZoolensError(f"thresholds auxiliary_below={auxiliary_below} > critical_above={critical_above}",
                           "choose 0 ≤ auxiliary_below ≤ critical_above (--auxiliary-below, --critical-above)")
    path = published_path("layer_criticality_results.csv") if str(source) == "published" else Path(source)
    if not path.is_file():
        raise ZoolensError(f"{path} does not exist", "pass the path of the authors' results.csv, or 'published'")
    check_out(out, "criticality")
    df = _read(path)
    _check_values(df, path)

    cat_path = published_path("layer_criticality_r50_categories.json") if categories is None else Path(categories)
    try:
        authors_cat = {m: c for c, ms in json.loads(Path(cat_path).read_text()).items() for m in ms}
    except (OSError, ValueError, AttributeError) as e:
        raise ZoolensError(f"cannot read the category file {cat_path} ({type(e).__name__})",
                           "pass a JSON object: category -> list of model ids") from None

    meta = zoo_metadata(R50)
    by_id = {pid: name for name, pid in meta["published_id"].items()}
    ids = list(dict.fromkeys(df["model_id"].astype(str)))
    dropped = []
    if not keep_frozen_random and FROZEN_RANDOM in ids:
        ids.remove(FROZEN_RANDOM)
        dropped.append(FROZEN_RANDOM)
    unknown = [m for m in ids if m not in by_id and m not in authors_cat]
    if unknown:
        rows = np.flatnonzero(df["model_id"].astype(str).eq(unknown[0]).to_numpy())
        raise ZoolensError(f"{path} row {rows[0] + 2}: model_id {unknown[0]!r} is neither a zoo:paper-r50 model "
                           f"nor in the category file ({len(unknown)} unknown in all)",
                           "use the authors' model ids (`zoolens zoo list paper-r50` shows them as published_id) "
                           "or add the model to a --categories file")
    df = df[df["model_id"].astype(str).isin(ids)].copy()
    df["model_id"] = df["model_id"].astype(str)
    df["layer"] = df["layer"].astype(str).str.replace(r"^model\.", "", regex=True)

    shapes = _resnet50_layers()
    bad_layers = sorted(set(df["layer"]) - set(shapes))
    if bad_layers:
        i = int(np.flatnonzero(df["layer"].eq(bad_layers[0]).to_numpy())[0])
        raise ZoolensError(f"{path}: layer {bad_layers[0]!r} (e.g. row {df.index[i] + 2}) is not a conv/linear layer "
                           "of torchvision's ResNet-50", "layers must be torchvision module paths, optionally "
                           "prefixed with 'model.'")
    order = list(shapes)  # execution order of torchvision's resnet50
    labels = dict(zip(order, paper_labels(order)))
    dup = df.duplicated(["model_id", "layer", "trial"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        r = df.iloc[i]
        raise ZoolensError(f"{path} row {df.index[i] + 2}: {r['model_id']} {r['layer']} trial {r['trial']} occurs "
                           "twice", "keep one row per model, layer and trial")

    name_of = {m: by_id.get(m, m) for m in ids}
    rows = pd.DataFrame({
        "model": df["model_id"].map(name_of), "layer": df["layer"], "label": df["layer"].map(labels),
        "layer_index": df["layer"].map(order.index), "module_type": df["layer"].map(lambda n: shapes[n][0]),
        "n_params": df["layer"].map(lambda n: shapes[n][1]), "seed": df["trial"].astype(int),
        "cosine_distance": 1.0 - df["pred_cos_sim"].astype(float),
        # top-1 agreement with the unmodified model was not recorded by the authors
        "top1_agreement": math.nan,
        "accuracy": df["top1_acc"] / 100.0 if "top1_acc" in df.columns else math.nan,
        "l1": df["pred_l1_err"] if "pred_l1_err" in df.columns else math.nan,
        "l2": df["pred_l2_err"] if "pred_l2_err" in df.columns else math.nan,
        "nonfinite": 0,  # the authors' pipeline averaged on the GPU; no count was recorded
        "n_images_used": AUTHORS_N_IMAGES,  # every layer on the authors' whole subset
        "image_se": math.nan,  # needs per-image values, which were not published
    })
    rows["published_id"] = df["model_id"].to_numpy()
    # models in the file's order, layers in execution order, then trials
    rows["_model_pos"] = rows["model"].map({n: i for i, n in enumerate(name_of.values())})
    rows = rows.sort_values(["_model_pos", "layer_index", "seed"], kind="stable").reset_index(drop=True)
    table = rows[ROW_COLUMNS + ["published_id"]]

    models = []
    for m in ids:
        name = name_of[m]
        z = meta.loc[name] if name in meta.index else None
        cat = z["category"] if z is not None else CATEGORY_NAMES.get(authors_cat[m], authors_cat[m])
        n_layers = int(table["layer"][table["model"] == name].nunique())
        models.append({"model": name, "reference": f"zoo:paper-r50/{name}" if z is not None else f"published:{m}",
                       "published_id": m, "clean_accuracy": (z["published_top1"] / 100.0) if z is not None
                       else math.nan, "accuracy_source": "published ImageNet top-1" if z is not None else "unknown",
                       "n_images": AUTHORS_N_IMAGES, "parameters": 25557032, "n_layers": n_layers, "engine": "imported",
                       "data_fingerprint": "imagenet-val-10k (authors' subset)",
                       "category": cat, "family": "resnet50",
                       "method": z["method"] if z is not None else m})
    models_df = pd.DataFrame(models)
    summary = summarize(table[ROW_COLUMNS], auxiliary_below=auxiliary_below, critical_above=critical_above)

    spec = {"imported_from": str(path), "keep_frozen_random": keep_frozen_random,
            "auxiliary_below": auxiliary_below, "critical_above": critical_above}
    extra = {"models": [r["reference"] for r in models], "seeds": sorted(table["seed"].unique().tolist()),
             "engine": "imported", "thresholds": {"auxiliary_below": auxiliary_below, "critical_above": critical_above},
             "data_fingerprints": ["imagenet-val-10k (authors' subset)"], "dropped_models": dropped,
             "n_rows": len(table)}
    return write_imported_run(out, "criticality",
                              {"criticality": table, "criticality_summary": summary, "models": models_df},
                              source=path, source_info=SOURCES["criticality"], spec=spec, extra=extra,
                              csv_only=("criticality_summary", "models"))


__all__ = ["FROZEN_RANDOM", "import_criticality"]
