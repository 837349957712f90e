"""Listings fit the terminal: names are never cut, other text is abbreviated in the middle or wrapped,
and ``--format csv/json`` stay complete."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zoolens.cli import main
from zoolens.cli.render import abbreviate_middle, header_lines, wrap_hard
from zoolens.zoo import get_zoo, list_zoos


@given(st.text(min_size=0, max_size=80), st.integers(1, 60))
def test_middle_abbreviation_keeps_both_ends(text, width):
    out = abbreviate_middle(text, width)
    assert len(out) <= width
    if len(text) <= width:
        assert out == text
    else:
        head, _, tail = out.partition("…")
        assert text.startswith(head) and text.endswith(tail) and len(head) >= len(tail)


@given(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=80), st.integers(1, 30))
def test_hard_wrap_keeps_every_character(text, width):
    out = wrap_hard(text, width)
    assert out.replace("\n", "") == text
    assert all(len(line) <= width for line in out.split("\n"))


def test_headers_break_after_underscores():
    assert header_lines("input_size", 6) == "input_\nsize"
    assert header_lines("name", 10) == "name"


def _table(args, monkeypatch, capsys, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    capsys.readouterr()
    assert main(args) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("zoo", list_zoos())
@pytest.mark.parametrize("columns", [80, 120])
def test_zoo_list_fits_the_terminal_and_never_cuts_a_name(zoo, columns, monkeypatch, capsys):
    out = _table(["zoo", "list", zoo], monkeypatch, capsys, columns)
    assert max(len(line) for line in out.splitlines()) <= columns
    for name in get_zoo(zoo).members():
        assert name in out, f"{name} is cut in the {columns}-column listing"
    csv = pd.read_csv(io.StringIO(_table(["zoo", "list", zoo, "--format", "csv"], monkeypatch, capsys, 40)))
    assert list(csv["name"]) == get_zoo(zoo).members()  # complete whatever the width


def test_zoo_status_and_models_info_never_cut_names(monkeypatch, capsys):
    out = _table(["zoo", "status", "fmnist-mini"], monkeypatch, capsys, 80)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert all(name in out for name in get_zoo("fmnist-mini").members())
    full = pd.read_json(io.StringIO(_table(["zoo", "status", "fmnist-mini", "--format", "json"], monkeypatch,
                                           capsys, 40)))
    assert all(str(p).endswith(".safetensors") for p in full["location"])  # json keeps whole paths
    out = _table(["models", "info", "zoo:fmnist-mini/resnet_baseline"], monkeypatch, capsys, 50)
    assert max(len(line) for line in out.splitlines()) <= 50
    assert "layer2.0.downsample.0" in out


@pytest.mark.parametrize("columns", [80, 60])
def test_many_numeric_columns_wrap_instead_of_cropping_the_table(columns, capsys):
    # two name columns and seven numbers (the `zoolens measures` table) are wider than the
    # terminal on their own: rich would crop the right edge, so names and numbers wrap too
    from zoolens.cli.render import emit

    df = pd.DataFrame({"model_a": ["resnet_baseline", "vit_baseline"], "model_b": ["mixer_baseline"] * 2,
                       **{f"measure_{i}_long_name": [0.125, 12.5] for i in range(7)}})
    emit(df, "table", keys=("model_a", "model_b"), width=columns)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= columns
    body = lines[next(i for i, l in enumerate(lines) if l.startswith("┡")) + 1:-1]
    cells = [[c.strip() for c in l.strip("│").split("│")] for l in body]
    assert all(len(r) == df.shape[1] for r in cells)
    for j, col in enumerate(df.columns):  # a column's lines, joined, hold every value whole and in order
        assert "".join(r[j] for r in cells) == "".join(str(v) for v in df[col])
    if columns == 80:  # here the names still fit whole on one line: only the numbers wrap
        assert any("resnet_baseline" == r[0] for r in cells)


def test_a_sat_matrix_too_wide_for_the_terminal_prints_the_extreme_pairs(capsys, monkeypatch):
    """Many models in a narrow terminal: the most/least similar pairs, not a matrix wrapped to one character."""
    import numpy as np
    import pandas as pd

    from zoolens.cli.similarity import _show_sat

    names = [f"model_{i}" for i in range(12)]
    rng = np.random.default_rng(0)
    v = rng.uniform(0, 4, (12, 12))
    sat = pd.DataFrame((v + v.T) / 2, index=pd.Index(names, name="model"), columns=names)
    monkeypatch.setenv("COLUMNS", "100")
    _show_sat(sat, "runs/x")
    out = capsys.readouterr().out
    assert "66 pairs" in out and "runs/x/sat_matrix.csv" in out
    iu = np.triu_indices(12, 1)
    top = np.argmax(sat.to_numpy()[iu])
    a, b = names[iu[0][top]], names[iu[1][top]]
    assert a in out and b in out and f"{sat.loc[a, b]:.3f}"[:4] in out
    monkeypatch.setenv("COLUMNS", "200")
    _show_sat(sat.iloc[:3, :3], "runs/x")  # fits: the matrix itself
    out = capsys.readouterr().out
    assert "SAT matrix" in out and "pairs" not in out
