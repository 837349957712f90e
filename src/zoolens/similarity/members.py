"""Members of a SAT run: who is in it, in which role, from which weights; the pairs to measure.

Roles (App. G.1 of the SAT paper, both directions): ``full`` (attacked and evaluated on
everyone), ``source`` (attacked; existing models are evaluated on its adversarials; it
is not shown theirs) and ``target`` (never attacked — no gradients; shown every
source's adversarials).
"""

from __future__ import annotations

import warnings

import pandas as pd
import torch

from zoolens.errors import ZoolensError
from zoolens.models.digest import module_digest, weights_digest
from zoolens.runtime.rundir import RunDir

ROLES = ("full", "source", "target")


def pair_id(source: str, target: str) -> str:
    """The part id of one (source, target) pair."""
    return f"{source}\x00->\x00{target}"


def _role_union(a: str, b: str) -> str:
    return a if a == b else "full"


def member_digests(given: list[tuple[str, str]], objects: dict[str, torch.nn.Module]) -> dict[str, str]:
    return {name: module_digest(objects[name]) if name in objects else weights_digest(ref) for name, ref in given}


def register_members(run: RunDir, given: list[tuple[str, str]], roles: dict[str, str],
              digests: dict[str, str] | None = None) -> pd.DataFrame:
    """Merge the given models into the run's member list (a part per member).

    ``digests`` (name → weights digest) key the results: a member whose weights changed
    since its units ran (retrained, checkpoint replaced) loses its clean predictions, its
    adversarial images and every pair it is in, so they are recomputed; the rest is kept.
    """
    digests = digests or {}
    old = run.read_parts("member")
    members: dict[str, dict] = {}
    given_names = {name for name, _ in given}
    for r in (old.to_dict("records") if len(old) else []):
        if r["model"] not in given_names and not run.has_part("clean", r["model"]):
            # a member whose first unit never finished and that this call no longer lists (a typo since
            # fixed, a model that failed to load): forget it, or it would fail every rerun
            run.part_path("member", r["model"]).unlink(missing_ok=True)
            continue
        members[r["model"]] = r
    seen: dict[str, str] = {}
    for name, ref in given:
        if name in seen and seen[name] != ref:
            raise ZoolensError(f"two models share the display name {name!r} ({seen[name]} and {ref})",
                               "pass each model once, or rename one")
        seen[name] = ref
        role = roles.get(name, roles.get(ref, "full"))
        if name in members:
            if members[name]["ref"] != ref:
                raise ZoolensError(f"{run.path} already has a model named {name!r} from {members[name]['ref']}",
                                   f"not {ref}: use another --out directory")
            new_role = _role_union(members[name]["role"], role)
            recorded = members[name].get("weights_digest")
            current = digests.get(name)
            fresh = current is None or (isinstance(recorded, str) and recorded == current)
            if new_role == members[name]["role"] and fresh:
                continue
            if not fresh:
                drop_results_of(run, name, list(members))
                members[name]["weights_digest"] = current
            members[name]["role"] = new_role
        else:
            members[name] = {"model": name, "ref": ref, "role": role,
                             "order": max((int(m["order"]) for m in members.values()), default=-1) + 1,
                             "weights_digest": digests.get(name)}
        run.write_part("member", name, pd.DataFrame([members[name]]))
    df = pd.DataFrame(list(members.values()), columns=["model", "ref", "role", "order", "weights_digest"])
    return df.sort_values("order", kind="stable").reset_index(drop=True)


def drop_results_of(run: RunDir, name: str, others: list[str]) -> None:
    """Delete every result computed from ``name``'s old weights (clean, attack + its images, pairs)."""
    if run.has_part("attack", name):
        (run.path / str(run.read_part("attack", name)["adv_file"].iloc[0])).unlink(missing_ok=True)
    for kind in ("clean", "attack"):
        run.part_path(kind, name).unlink(missing_ok=True)
    for other in others:
        for pid in (pair_id(name, other), pair_id(other, name)):
            run.part_path("pair", pid).unlink(missing_ok=True)
    warnings.warn(f"the weights of {name} changed since it was measured in {run.path}: recomputing its results",
                  stacklevel=3)


def pairs_to_measure(names: list[str], role_of: dict[str, str], sources: list[str]) -> list[tuple[str, str]]:
    """Ordered (source, target) pairs to measure: targets see every source; source-only models only themselves."""
    return [(s, t) for s in sources for t in names if role_of[t] in ("full", "target") or s == t]


__all__ = ["ROLES", "drop_results_of", "member_digests", "pair_id", "pairs_to_measure", "register_members"]
