"""The open model-source registry: a source registered in one module is usable everywhere a reference is."""

from __future__ import annotations

import pytest
import torch

from zoolens.errors import ZoolensError
from zoolens.models import get_source, list_sources, load_model, parse_ref, register_source
from zoolens.models.digest import weights_digest
from zoolens.models.loader import check_ref
from zoolens.models.refs import ModelRef
from zoolens.models.source import Architecture, ModelSource, unregister_source

from tests.factories import _Tiny, tiny_model


def _toy_source() -> ModelSource:
    """``toy:NAME``: the tiny test model, known names ``a`` and ``b`` only."""

    def check(ref: ModelRef) -> None:
        if ref.name not in ("a", "b"):
            raise ZoolensError(f"toy has no model {ref.name!r}", "use toy:a or toy:b")

    return ModelSource(scheme="toy", syntax="toy:NAME", parse=lambda rest, raw: ModelRef("toy", rest, raw=raw),
                       check=check, load=lambda ref, **kw: tiny_model(seed=0 if ref.name == "a" else 1),
                       architecture=lambda ref: Architecture(make=_Tiny, input_size=lambda net: (1, 8, 8)),
                       digest_parts=lambda ref: ("toy", ref.raw, "v1"))


@pytest.fixture
def toy():
    source = register_source(_toy_source())
    yield source
    unregister_source("toy")


def test_builtin_sources_are_registered():
    assert {"timm", "tv", "py", "zoo"} <= set(list_sources())
    assert get_source("zoo").syntax == "zoo:ZOO/NAME"  # registered by the zoo package, seen from models


def test_a_registered_source_loads_checks_digests_and_plans(toy):
    assert "toy" in list_sources()
    assert check_ref("toy:a") == ModelRef("toy", "a", raw="toy:a")
    model = load_model("toy:b")
    assert not model.training and model.input_size == (1, 8, 8)
    assert torch.equal(model.net.fc.weight, tiny_model(seed=1).net.fc.weight)
    with pytest.raises(ZoolensError, match="toy has no model 'c'"):
        load_model("toy:c")
    assert weights_digest("toy:a") == weights_digest("toy:a") != weights_digest("toy:b")

    from zoolens.runtime.plan import arch_info

    info = arch_info("toy:a")
    assert info.input_size == (1, 8, 8) and info.n_layers == 2 and info.forward_flops > 0


def test_unknown_scheme_lists_the_registered_ones(toy):
    with pytest.raises(ZoolensError) as err:
        parse_ref("nosuch:thing")
    msg = str(err.value)
    assert "cannot parse model reference 'nosuch:thing'" in msg and "\n" not in msg
    for syntax in ("timm:NAME[@FILE|@init:SEED]", "tv:NAME[:WEIGHTS]", "zoo:ZOO/NAME", "py:module:function",
                   "toy:NAME"):
        assert syntax in msg
    with pytest.raises(ZoolensError, match="no model source is registered for the scheme 'nosuch'"):
        get_source("nosuch")


def test_unregistered_source_is_gone(toy):
    unregister_source("toy")
    with pytest.raises(ZoolensError, match="cannot parse"):
        load_model("toy:a")
