"""Offline by default without touching the user's environment: the switch acts only where a download could start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from zoolens.errors import ZoolensError
from zoolens.offline import HOW_TO_GO_ONLINE, hub_offline, is_online, require_online, set_online

HUB_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


@pytest.mark.slow  # a subprocess imports zoolens
def test_importing_zoolens_leaves_the_environment_alone():
    env = {k: v for k, v in os.environ.items() if k not in HUB_VARS and k != "ZOOLENS_ONLINE"}
    code = ("import os, zoolens, zoolens.models, zoolens.zoo, huggingface_hub.constants as hc; "
            "print(sorted(v for v in %r if v in os.environ), hc.HF_HUB_OFFLINE, zoolens.offline.is_online())"
            % (HUB_VARS,))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "False", "False"]


def test_hub_offline_sets_and_restores_the_hub_switches(monkeypatch):
    import huggingface_hub.constants as hc

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    before = hc.HF_HUB_OFFLINE
    assert not is_online()
    with hub_offline():
        assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
        assert hc.HF_HUB_OFFLINE is True
    assert "HF_HUB_OFFLINE" not in os.environ and os.environ["TRANSFORMERS_OFFLINE"] == "0"
    assert hc.HF_HUB_OFFLINE == before


def test_online_changes_nothing_and_require_online_says_how(monkeypatch):
    with pytest.raises(ZoolensError) as err:
        require_online("weights X are not cached", "copy them there")
    assert str(err.value).endswith(f"copy them there, or {HOW_TO_GO_ONLINE}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    set_online(True)
    try:
        require_online("never raised")
        with hub_offline():
            assert "HF_HUB_OFFLINE" not in os.environ
    finally:
        set_online(False)
