"""Import the SAT paper's published 69 × 69 matrix (or one in its format) as an ordinary SAT run.

The authors' ``SAT_release.csv`` (symmetric, natural log, first column and header the
timm 0.6.7 model names; provenance in ``files/README.md``) becomes the tables a native
``zoolens similarity`` run writes: ``sat_matrix.csv`` (index and header = model names),
``models.csv`` and ``manifest.json`` — so ``zoolens analyze`` and ``zoolens report`` run
on it unchanged. The authors' component table (``SAT_model_features.csv``, the paper's
Tables C.2–C.4) is mapped to zoolens's component columns and kept in ``models.csv``.

Everything is validated before anything is written: a bad file raises one
:class:`~zoolens.errors.ZoolensError` naming the row or column, and ``out`` is never
left half-written.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.published import SOURCES, published_path, sha256_file
from zoolens.published.imported import check_out, write_imported_run
from zoolens.zoo.architectures import COMPONENT_COLUMNS
from zoolens.zoo.metadata import zoo_metadata
from zoolens.zoo.paper.sat69 import ZOO

#: SAT is the log of a percentage, so no entry can exceed ln 100 (SAT paper Eq. 1).
LN100 = math.log(100.0)
#: Slack for the 9 printed decimals of the published file (symmetry and the ln 100 bound).
TOLERANCE = 1e-6
#: The authors' component headers (``Model Feature_release.csv``) → zoolens's columns.
FEATURE_HEADERS: dict[str, str] = {
    "Base architecture": "base_architecture", "Hierarchical structure": "hierarchical",
    "Stem layer": "stem_layer", "Input resolution": "input_resolution", "Normalization": "normalization",
    "Activation": "activation", "Pooling (stem)": "pooling_at_stem", "Pooling (final)": "final_pooling",
    "2D SA": "self_attention_2d", "CW attention": "channel_wise_attention",
    "Location of CW attention": "cw_attention_location", "DW conv": "depthwise_conv", "Group conv": "group_conv",
}
#: What the paper states about the published run (Sec. 3: PGD, 50 iterations, step 0.1, ε = 8/255,
#: 5,000 ImageNet validation images); recorded only for the shipped file.
PUBLISHED_SETTINGS = {"data": "imagenet-val (the authors' 10% subset)", "n_images": 5000,
                      "attack": {"name": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 50, "step_size": 0.1,
                                 "as_stated_in": "SAT paper Sec. 3"}}


def _known_models() -> list[str]:
    return list(zoo_metadata(ZOO).index)


def read_sat_csv(path: Path) -> pd.DataFrame:
    """Read and validate a SAT matrix CSV (square, same names both ways, numeric, symmetric, ≤ ln 100).

    Parameters
    ----------
    path:
        CSV whose first column and header hold the model names (timm 0.6.7 names of
        ``zoo:paper-sat69``), values SAT in natural log (SAT paper Eq. 1).

    Returns
    -------
    pandas.DataFrame
        Float matrix, index = columns = model names in the file's row order.

    Raises
    ------
    ZoolensError
        Naming the offending row/column for each of: unreadable, not square, row names ≠
        column names, duplicate names, a non-numeric or NaN entry, an entry above ln 100,
        asymmetry beyond :data:`TOLERANCE` (the worst pair), a model outside ``zoo:paper-sat69``.
    """
    try:
        raw = pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ZoolensError(f"cannot read {path} as CSV ({type(e).__name__}: {str(e).splitlines()[0][:120]})",
                           "pass a square SAT matrix CSV with model names as first column and header") from None
    raw.index = [str(i).strip() for i in raw.index]
    raw.columns = [str(c).strip() for c in raw.columns]
    n_rows, n_cols = raw.shape
    if n_rows != n_cols:
        raise ZoolensError(f"{path} is not a square matrix: {n_rows} rows × {n_cols} columns",
                           "write one row and one column per model, model names as first column and header")
    for axis, names in (("row", raw.index), ("column", raw.columns)):
        dup = names[names.duplicated()]
        if len(dup):
            raise ZoolensError(f"{path}: {axis} name {dup[0]!r} occurs twice", f"keep one {axis} per model")
    if set(raw.index) != set(raw.columns):
        only_rows = [m for m in raw.index if m not in set(raw.columns)]
        only_cols = [m for m in raw.columns if m not in set(raw.index)]
        raise ZoolensError(f"{path}: row names differ from column names (row {only_rows[0]!r} has no column; "
                           f"column {only_cols[0]!r} has no row)",
                           "name the rows and the columns by the same models")
    raw = raw[list(raw.index)]  # the same order both ways, whatever the file's column order
    vals = raw.apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    bad = ~np.isfinite(vals.to_numpy(dtype=float))
    if bad.any():
        i, j = (int(v[0]) for v in np.nonzero(bad))
        raise ZoolensError(f"{path} row {raw.index[i]!r}, column {raw.columns[j]!r}: {raw.iat[i, j]!r} is not a "
                           f"finite number ({int(bad.sum())} such entries)", "fill every entry with a SAT value")
    m = vals.to_numpy(dtype=float)
    if m.max() > LN100 + TOLERANCE:
        i, j = np.unravel_index(int(np.argmax(m)), m.shape)
        raise ZoolensError(f"{path} row {raw.index[i]!r}, column {raw.columns[j]!r}: {m[i, j]:g} > ln 100 = "
                           f"{LN100:.4f}, so the matrix is not SAT in natural log",
                           "convert percentages p to SAT = ln(max(ε_s, p)) (SAT paper Eq. 1)")
    delta = np.abs(m - m.T)
    if delta.max() > TOLERANCE:
        i, j = np.unravel_index(int(np.argmax(delta)), delta.shape)
        raise ZoolensError(f"{path} is not symmetric: worst pair {raw.index[i]!r} / {raw.columns[j]!r} with "
                           f"|SAT(A,B) − SAT(B,A)| = {delta[i, j]:.4g}",
                           "SAT is symmetric (SAT paper Eq. 1); pass the symmetric matrix")
    known = set(_known_models())
    unknown = [n for n in raw.index if n not in known]
    if unknown:
        raise ZoolensError(f"{path}: model {unknown[0]!r} is not in zoo:{ZOO} ({len(unknown)} unknown in all)",
                           f"use the timm 0.6.7 names the paper used (`zoolens zoo list {ZOO}`)")
    out = pd.DataFrame(m, index=list(raw.index), columns=list(raw.index))
    out.index.name = "model"
    return out


def read_components_csv(path: Path, models: list[str]) -> pd.DataFrame:
    """Read the authors' component table and map it to zoolens's component columns.

    Headers may be the authors' (``Model name``, ``Base architecture``, …; see
    :data:`FEATURE_HEADERS`) or zoolens's (``model`` and :data:`COMPONENT_COLUMNS`).
    Values are kept as printed, except two formatting conventions of the authors' file:
    ``224 x 224`` → ``224`` (an integer, like the zoo's input resolution) and ``~`` →
    empty (no channel-wise attention, so no location).

    Parameters
    ----------
    path:
        The component CSV (SAT paper Tables C.2–C.4).
    models:
        The matrix's models; each needs a row. Rows for other ``zoo:paper-sat69`` models
        are ignored (a subset matrix may use the full published table).

    Returns
    -------
    pandas.DataFrame
        Index = model (in ``models`` order), columns :data:`COMPONENT_COLUMNS`.

    Raises
    ------
    ZoolensError
        Missing columns, a duplicate row, a model outside ``zoo:paper-sat69``, or a
        matrix model without a row (each named).
    """
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ZoolensError(f"cannot read the components file {path} ({type(e).__name__})",
                           "pass the authors' Model Feature_release.csv or a CSV with the same columns") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    rename = {"Model name": "model", **FEATURE_HEADERS}
    df = raw.rename(columns={c: rename[c] for c in raw.columns if c in rename})
    missing = [c for c in ("model", *COMPONENT_COLUMNS) if c not in df.columns]
    if missing:
        authors = {v: k for k, v in rename.items()}
        raise ZoolensError(f"components file {path} lacks the column(s) "
                           f"{', '.join(repr(authors[c]) for c in missing)}",
                           f"the authors' file has {', '.join(repr(c) for c in rename)} (zoolens names also accepted)")
    df = df[["model", *COMPONENT_COLUMNS]].apply(lambda col: col.str.strip())
    dup = df["model"][df["model"].duplicated()]
    if len(dup):
        raise ZoolensError(f"components file {path}: model {dup.iloc[0]!r} has two rows", "keep one row per model")
    known = set(_known_models())
    unknown = [m for m in df["model"] if m not in known]
    if unknown:
        row = int(np.flatnonzero(df["model"].eq(unknown[0]).to_numpy())[0]) + 2
        raise ZoolensError(f"components file {path} row {row}: model {unknown[0]!r} is not in zoo:{ZOO} "
                           f"({len(unknown)} unknown in all)",
                           f"use the timm 0.6.7 names the paper used (`zoolens zoo list {ZOO}`)")
    absent = [m for m in models if m not in set(df["model"])]
    if absent:
        raise ZoolensError(f"components file {path} has no row for {absent[0]!r} ({len(absent)} of the matrix's "
                           f"{len(models)} models missing)", "add a row per model of the matrix")
    df = df.set_index("model").loc[models]
    res = df["input_resolution"].str.replace(r"\s*[x×]\s*\d+$", "", regex=True)
    num = pd.to_numeric(res, errors="coerce")
    if num.isna().any():
        m = num.index[num.isna()][0]
        raise ZoolensError(f"components file {path}, model {m!r}, column 'Input resolution': "
                           f"{df.at[m, 'input_resolution']!r} is not a resolution", "write it as '224 x 224' or 224")
    df["input_resolution"] = num.astype(int)
    df["cw_attention_location"] = df["cw_attention_location"].replace("~", "")
    return df


def import_sat(source: str | Path = "published", out: str | Path = "runs/published-sat", *,
               components: str | Path | None = None) -> Path:
    """Import a published SAT matrix as a similarity run directory (SAT paper Sec. 3–4).

    Parameters
    ----------
    source:
        ``"published"`` (the shipped, unmodified ``SAT_release.csv``: 69 × 69, natural
        log) or the path of a CSV in the same format whose models are ``zoo:paper-sat69``
        models (timm 0.6.7 names).
    out:
        The run directory to write (absent, empty, or a previous import: replaced).
    components:
        The component table: ``None`` (the shipped ``SAT_model_features.csv`` for
        ``published``; none otherwise — the analyses then use the zoo's transcription),
        ``"published"`` (the shipped one) or a path in the authors' format.

    Returns
    -------
    pathlib.Path
        The run directory: ``sat_matrix.csv``, ``models.csv`` (``model, reference,
        published_id`` and the components as imported), ``similarity_spec.json`` and
        ``manifest.json`` (``runs.similarity.imported = true`` with the source's SHA-256).

    Notes
    -----
    The published data hold no logits, so the ensemble analyses (Sec. 5.1) are not
    testable on an imported run; every other analysis runs as on a native one.
    """
    published = str(source) == "published"
    path = published_path("SAT_release.csv") if published else Path(source)
    if not path.is_file():
        raise ZoolensError(f"{path} does not exist", "pass the path of a SAT matrix CSV, or 'published'")
    if components is None and published:
        components = "published"
    comp_path = None if components is None else (
        published_path("SAT_model_features.csv") if str(components) == "published" else Path(components))
    if comp_path is not None and not comp_path.is_file():
        raise ZoolensError(f"components file {comp_path} does not exist",
                           "pass the authors' Model Feature_release.csv, 'published', or leave --components out")
    check_out(out, "similarity")
    sat = read_sat_csv(path)
    names = list(sat.index)
    comp = read_components_csv(comp_path, names) if comp_path is not None else None

    models = pd.DataFrame({"model": names, "reference": [f"zoo:{ZOO}/{m}" for m in names],
                           # the authors' id is the timm 0.6.7 name, which is also our model name
                           "published_id": names})
    if comp is not None:
        models = models.join(comp, on="model")
    spec = {"imported_from": str(path), "components_from": None if comp_path is None else str(comp_path),
            "eps_s": None, **(PUBLISHED_SETTINGS if published else {"data": None, "n_images": None, "attack": None})}
    extra = {"models": [{"model": m, "ref": f"zoo:{ZOO}/{m}"} for m in names], "n_models": len(names),
             "eps_s": None, "data": spec["data"], "n_images": spec["n_images"], "attack": spec["attack"],
             "components": None if comp_path is None else {"file": str(comp_path), "sha256": sha256_file(comp_path)},
             "engine": "imported"}
    return write_imported_run(out, "similarity", {"sat_matrix.csv": sat, "models": models}, source=path,
                              source_info=SOURCES["sat"], spec=spec, extra=extra, csv_only=("models",))


__all__ = ["FEATURE_HEADERS", "import_sat", "read_components_csv", "read_sat_csv"]
