"""Property tests (hypothesis) of everything a user types: whatever the input, the parser returns a
valid object or raises a one-line :class:`ZoolensError` — never another exception."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoolens.errors import ZoolensError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _one_line_error(fn, *args, **kwargs):
    """Call ``fn``; a ZoolensError is fine (one line, non-empty), any other exception fails the test."""
    try:
        return fn(*args, **kwargs)
    except ZoolensError as exc:
        from zoolens.cli.guard import one_line

        assert one_line(str(exc)).strip()
        return None


# ------------------------------------------------------------ model references
SCHEMES = st.sampled_from(["timm:", "tv:", "zoo:", "py:", "", "timm", "zoo:fmnist-mini/", "zoo:paper-r50/"])
NAMES = st.one_of(st.sampled_from(["resnet18", "resnet_baseline", "vgg_baseline", "resnet50", "nope", ""]),
                  st.text(max_size=40))
SUFFIXES = st.one_of(st.just(""), st.sampled_from(["@init", "@init:0", "@init:abc", "@init:-1", "@", "@/tmp",
                                                   "@/nonexistent.pth", ":IMAGENET1K_V1", "@init:99999999999999"]),
                     st.text(max_size=30).map(lambda t: "@" + t), st.just("@/" + "x" * 300 + ".pth"))


@FAST
@given(scheme=SCHEMES, name=NAMES, suffix=SUFFIXES)
def test_model_references_parse_or_fail_in_one_line(scheme, name, suffix):
    from zoolens.models.loader import check_ref
    from zoolens.models.refs import ModelRef, parse_ref

    ref = scheme + name + suffix
    parsed = _one_line_error(parse_ref, ref)
    assert parsed is None or isinstance(parsed, ModelRef)
    if parsed is not None and parsed.scheme != "py":  # py: would import arbitrary module names
        checked = _one_line_error(check_ref, ref)
        assert checked is None or checked == parsed
    if parsed is not None and parsed.weights == "init":
        assert parsed.seed >= 0


@FAST
@given(st.text(max_size=60))
def test_any_text_as_a_reference_parses_or_fails_in_one_line(text):
    from zoolens.models.refs import parse_ref

    _one_line_error(parse_ref, text)


# --------------------------------------------------------------------- --seeds
@FAST
@given(st.one_of(st.text(max_size=30), st.lists(st.integers(-5, 2 ** 33), max_size=6).map(
    lambda xs: ",".join(map(str, xs))), st.integers(-10, 10 ** 12).map(str)))
def test_seeds_parse_to_distinct_valid_seeds_or_fail_in_one_line(text):
    from zoolens.cli.criticality import parse_seeds

    seeds = _one_line_error(parse_seeds, text)
    if seeds is not None:
        assert seeds and len(set(seeds)) == len(seeds) and all(0 <= s < 2 ** 32 for s in seeds)


# ----------------------------------------------------------- --eps / --alpha
@FAST
@given(st.one_of(st.text(max_size=20), st.floats(allow_nan=True, allow_infinity=True),
                 st.tuples(st.integers(-10 ** 400, 10 ** 400), st.integers(-300, 300)).map(lambda t: f"{t[0]}/{t[1]}"),
                 st.integers(-1000, 1000).map(lambda e: f"1e{e}")))
def test_fractions_are_finite_numbers_or_fail_in_one_line(text):
    from zoolens.similarity.attack_registry import parse_fraction
    from zoolens.similarity.config import SatConfig

    value = _one_line_error(parse_fraction, text, what="--eps")
    if value is not None:
        assert math.isfinite(value)
    cfg = _one_line_error(SatConfig, attack="pgd", eps=text, alpha="2/255", steps=1)
    if cfg is not None:
        assert 0 <= cfg.eps and math.isfinite(cfg.eps) and cfg.attack_config().eps == cfg.eps


# -------------------------------------------------------------------- --layers
@pytest.mark.filterwarnings("ignore::FutureWarning")  # re warns about sets that may nest in future Pythons
@FAST
@given(st.one_of(st.text(max_size=30), st.from_regex(r"[a-z\[\]\(\)\{\}\\*+?|^$.0-9,]{1,12}", fullmatch=True)))
def test_layer_patterns_compile_or_fail_in_one_line_naming_the_option(text):
    from zoolens.models.layers import compile_layer_pattern

    try:
        rx = compile_layer_pattern(text)
    except ZoolensError as exc:
        assert "--layers" in str(exc) and "\n" not in str(exc)
        return
    if text:
        import re

        assert isinstance(rx, re.Pattern)
        rx.search("layer1.0.conv1")  # usable on module paths without raising
    else:
        assert rx is None


# ------------------------------------------------------------------ study TOML
SECTION_KEYS = {
    "study": ["name", "out"], "models": ["zoo", "refs", "only"], "data": ["source", "n_images", "seed"],
    "criticality": ["n_images", "seeds", "randomize", "engine", "include_norm", "layers", "precision", "batch_size",
                    "device", "layers_per_unit", "auxiliary_below", "critical_above", "trust_checkpoint", "bogus"],
    "similarity": ["n_images", "attack", "eps", "alpha", "steps", "random_start", "seed", "precision", "preset",
                   "batch_size", "device", "eps_s", "trust_checkpoint"],
    "executor": ["kind", "address", "gpus_per_unit", "cpus_per_unit", "max_retries"],
}
SCALARS = st.one_of(st.integers(-3, 2 ** 40), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.sampled_from(["8/255", "abc", "fmnist-mini", "zoo:fmnist-mini/resnet_baseline", "local", "ray",
                                     "pgd", "fp32", "digits", "runs/x", "timm:resnet18", "", "0,1"]),
                    st.text(max_size=8))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4))


@st.composite
def studies(draw):
    raw = {}
    for section in draw(st.lists(st.sampled_from(list(SECTION_KEYS) + ["extra"]), unique=True, max_size=6)):
        keys = SECTION_KEYS.get(section, ["x"])
        if draw(st.integers(0, 9)) == 0:
            raw[section] = draw(SCALARS)  # a section that is not a table
            continue
        raw[section] = {k: draw(VALUES) for k in draw(st.lists(st.sampled_from(keys), unique=True, max_size=5))}
    return raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies())
def test_study_tables_resolve_or_fail_in_one_line(raw):
    from zoolens.runtime.spec import resolve_study

    spec = _one_line_error(resolve_study, raw)
    if spec is not None:
        assert spec["models"] and ("criticality" in spec or "similarity" in spec)
        assert isinstance(spec["study"]["out"], str)


@FAST
@given(text=st.text(max_size=200))
def test_study_text_loads_or_fails_in_one_line(text, tmp_path_factory):
    from zoolens.runtime.spec import load_study, resolve_study

    path = tmp_path_factory.mktemp("toml") / "s.toml"
    path.write_text(text, encoding="utf-8")
    raw = _one_line_error(load_study, path)
    if raw is not None:
        _one_line_error(resolve_study, raw)
