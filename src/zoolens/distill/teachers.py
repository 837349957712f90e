"""What a distillation run needs to know about its teachers before and after training.

* :func:`check_teachers` — every reference exists, has weights and feeds on the student's channels,
  checked before a run directory is made (one-line errors).
* :func:`teacher_info` — family, base architecture and whether the teacher is a Transformer.

Transformer or not (Fig. 11b/c of the SAT paper): the teacher's ``base_architecture`` component
(SAT paper Tab. C.2-C.4, recorded for every trained mini-zoo model and the 69 paper models) equals
``Transformer``; a teacher whose components are not recorded yet (a recipe trained after the zoo's
manifest was written) falls back to its family (``vit`` is a Transformer family; the mini zoo's
``mixer`` is an MLP-Mixer, not a Transformer, as in the paper's table). Models outside any zoo are
``unknown`` (left out of both groups, never guessed).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from zoolens.checks import check_refs
from zoolens.errors import ZoolensError
from zoolens.models.refs import display_name
from zoolens.runtime.plan import arch_info
from zoolens.zoo.metadata import zoo_metadata
from zoolens.zoo.registry import get_zoo

#: Families whose models are Transformers when their components are not recorded.
TRANSFORMER_FAMILIES = frozenset({"vit"})


def _zoo_member(ref: str, *, with_file: bool = False) -> tuple[str, str] | None:
    """``(zoo, name)`` of ``zoo:ZOO/NAME`` (and of ``zoo:ZOO/NAME@FILE`` when ``with_file``), else None."""
    if not ref.startswith("zoo:") or "/" not in ref:
        return None
    zoo, name = ref[4:].split("/", 1)
    if "@" in name and not with_file:
        return None
    return zoo, name.split("@", 1)[0]


def _check_weights(ref: str) -> None:
    """A zoo member that keeps weights files needs them on disk (library-served members are not checked)."""
    member = _zoo_member(ref)
    if member is None:
        return
    zoo, name = member
    entries = get_zoo(zoo).weights()
    expected = [s for s in entries.files if s.model == name]
    if expected and not entries.files_of(name):
        raise ZoolensError(f"{ref} has no trained weights yet (expected {expected[0].path})",
                           f"train it (zoolens zoo train {zoo} --only {name}) or leave it out of the teachers")


def check_teachers(teachers: Sequence[str], baseline: str, channels: int) -> None:
    """Refuse bad teachers before anything is written.

    Parameters
    ----------
    teachers:
        Model references; at least one, each once.
    baseline:
        The SAT reference model (checked the same way).
    channels:
        The student's input channels: a teacher sees the student's batch, so it must take as many.

    Raises
    ------
    ZoolensError
        A repeated, unknown or untrained reference, or a teacher with other input channels.
    """
    names = [display_name(t) for t in teachers]
    if not names:
        raise ZoolensError("no teachers given", "pass --teachers REF[,REF…] or leave it out for the preset")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ZoolensError(f"teacher(s) listed twice: {', '.join(dup)}", "list each teacher once")
    check_refs([*teachers, baseline])
    for ref in [*teachers, baseline]:
        _check_weights(ref)
    for ref in teachers:
        c = int(arch_info(ref).input_size[0])
        if c != channels:
            raise ZoolensError(f"teacher {ref} takes {c}-channel images, the student {channels}-channel ones",
                               "distill from models trained on the student's data (e.g. zoo:fmnist-mini/…)")


def _known(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and v != ""


def teacher_info(ref: str) -> dict[str, Any]:
    """``family``, ``base_architecture`` and ``transformer`` (True/False, None if unknown) of a teacher."""
    member = _zoo_member(ref, with_file=True)  # a checkpoint of a member is still that member
    family, base = "unknown", None
    if member is not None:
        zoo, name = member
        meta = zoo_metadata(zoo)
        if name in meta.index:
            row = meta.loc[name]
            family = str(row["family"]) if _known(row["family"]) else "unknown"
            base = str(row["base_architecture"]) if _known(row.get("base_architecture")) else None
    if base is not None:
        transformer: bool | None = base == "Transformer"
    elif family != "unknown":
        transformer = family in TRANSFORMER_FAMILIES
    else:
        transformer = None
    return {"family": family, "base_architecture": base, "transformer": transformer}


__all__ = ["TRANSFORMER_FAMILIES", "check_teachers", "teacher_info"]
