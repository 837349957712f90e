"""Training a whole zoo (``zoolens zoo train``): sequential or in parallel processes, writing weights and the manifest.

Each model trains with its recipe's fixed thread count, so the weights do not depend on
how many models train at once (:mod:`zoolens.zoo.train` has the bitwise-reproducible loop);
at most ``cores // threads`` models train at once, so jobs × threads never exceed the cores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch

from zoolens.io import sha256_file
from zoolens.threads import available_cores, fit_jobs
from zoolens.zoo.architectures import FAMILIES
from zoolens.zoo.augment import load_split
from zoolens.zoo.build import build_net, preprocess_for, wrap
from zoolens.zoo.checkpoints import CheckpointPlan, epoch_callback
from zoolens.zoo.recipes import ZOO_RECIPES, Recipe
from zoolens.zoo.train import StepCallback, TrainResult, evaluate, train_recipe


def recipe_threads(recipes: Sequence[Recipe]) -> int:
    """The intra-op threads one training process uses: the largest ``num_threads`` of ``recipes``."""
    return max((r.num_threads for r in recipes), default=1)


def zoo_jobs(recipes: Sequence[Recipe], requested: int | None = None,
             cores: int | None = None) -> tuple[int, str | None]:
    """Models to train at once: ``(jobs, notice)`` with jobs × the recipes' threads ≤ ``cores`` (default: this
    machine's); the default is as many as fit (``cores // threads``, at most one per model), and a larger
    ``requested`` is cut down with a one-line ``notice`` (see :func:`zoolens.threads.fit_jobs`)."""
    return fit_jobs(available_cores() if cores is None else cores, recipe_threads(recipes), len(recipes), requested)


def _init_worker(threads: int) -> None:
    """Spawned worker start: the recipe's intra-op threads (also while it loads data) and one inter-op thread."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)  # the training loop forks no parallel graph tasks
    except RuntimeError:  # already set, or inter-op work already started in this process
        pass


def _train_in_worker(recipe: Recipe, updates, max_steps: int | None, plan: CheckpointPlan | None) -> TrainResult:
    """Process-pool entry: train one recipe, streaming (name, step, total, loss) to ``updates``."""
    def on_step(step: int, total: int, loss: float) -> None:
        if step % 10 == 0 or step == total:  # every step would flood the queue for nothing
            updates.put((recipe.name, step, total, loss))
    return train_recipe(recipe, max_steps=max_steps, on_step=on_step, on_epoch=epoch_callback(plan, recipe))


def _train_parallel(recipes: Sequence[Recipe], jobs: int,
                    on_model_start: Callable[[Recipe, int], StepCallback | None] | None,
                    steps_of: Callable[[Recipe], int], max_steps: int | None,
                    plan: CheckpointPlan | None = None) -> Iterator[tuple[Recipe, TrainResult]]:
    """Train ``recipes`` in ``jobs`` spawned processes; yield (recipe, result) as each finishes.

    Each worker trains with the recipe's own fixed thread count, so a model's weights
    are bitwise the same as in a sequential run (``tests/zoo/test_train.py``). Spawn, not
    fork: forking a process whose OpenMP pool is running can deadlock the child.
    """
    import multiprocessing as mp
    import queue
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                                                       initargs=(recipe_threads(recipes),)) as pool:
        updates = manager.Queue()
        callbacks: dict[str, StepCallback | None] = {}
        pending = {}
        for r in recipes:
            callbacks[r.name] = on_model_start(r, steps_of(r)) if on_model_start else None
            pending[pool.submit(_train_in_worker, r, updates, max_steps, plan)] = r
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            while True:
                try:
                    name, step, total, loss = updates.get_nowait()
                except queue.Empty:
                    break
                cb = callbacks.get(name)
                if cb is not None:
                    cb(step, total, loss)
            for fut in done:
                yield pending.pop(fut), fut.result()


def write_model(zoo: str, recipe: Recipe, res: TrainResult, out: Path, x_test: torch.Tensor,
                y_test: torch.Tensor) -> dict:
    """Evaluate a trained model, write ``out/weights/NAME.safetensors`` atomically, return its manifest row."""
    from safetensors.torch import save_file

    net = build_net(recipe)
    net.load_state_dict(res.state)
    model = wrap(net, recipe, zoo)
    acc = evaluate(model, x_test, y_test)
    wpath = out / "weights" / f"{recipe.name}.safetensors"
    tmp = wpath.with_suffix(".tmp")
    # One metadata key only: safetensors keeps metadata in a Rust HashMap whose iteration
    # order is random per process, so two keys would make the file bytes (and SHA-256)
    # differ between otherwise identical runs.
    save_file(res.state, str(tmp), metadata={"zoolens": f"zoo:{zoo}/{recipe.name}"})
    tmp.replace(wpath)
    row = {
        "name": recipe.name,
        "family": recipe.family,
        "method": recipe.method,
        "category": recipe.category,
        "seed": recipe.seed,
        "accuracy": round(acc, 2),
        "params": sum(p.numel() for p in net.parameters()),
        "input_size": list(preprocess_for(recipe).input_size),
        "components": dict(FAMILIES[recipe.family].components),
        "weights": f"weights/{recipe.name}.safetensors",
        "sha256": sha256_file(wpath),
        "train_wall_time_s": round(res.wall_time_s, 1),
        "train_steps": res.steps,
        "probe_steps": recipe.probe_steps,
        "probe_sha256": res.probe_digest,
        "torch_version": torch.__version__,
        # CPU kernels differ by instruction set (AVX2 vs AVX-512 reduce in another order), so
        # bitwise equality of retrained weights holds only on the same capability.
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "config": recipe.config(),
    }
    return row


def train_zoo(zoo: str, recipes: Sequence[Recipe], out_dir: str | Path, *, jobs: int = 1,
              max_steps: int | None = None, save_every: int | None = None,
              train_data: tuple[torch.Tensor, torch.Tensor] | None = None,
              test_data: tuple[torch.Tensor, torch.Tensor] | None = None,
              on_model_start: Callable[[Recipe, int], StepCallback | None] | None = None,
              on_model_done: Callable[[Recipe, dict], None] | None = None) -> list[dict]:
    """Train ``recipes``, writing ``weights/NAME.safetensors`` and updating ``manifest.json`` in ``out_dir``.

    ``jobs > 1`` trains that many models at once in separate processes (each with the
    recipe's thread count, so the weights are identical to a sequential run; more jobs
    than ``cores // threads`` are cut down to that, with a warning); results
    are evaluated and written by this process as models finish. The manifest is
    rewritten after every model (atomic replace), so an interrupted run keeps every
    finished model; rows of models not retrained are kept. ``max_steps`` stops every
    model early (smoke runs and tests; the manifest records the steps done).
    ``save_every = N`` also writes epoch checkpoints (epoch 0, every N-th epoch and the last)
    under ``out_dir/checkpoints/NAME/`` with JSON sidecars (:mod:`zoolens.zoo.checkpoints`);
    the final weights do not change. ``train_data`` replaces the Fashion-MNIST train split
    and ``test_data`` the test split the accuracy is measured on (tests; neither is recorded
    in the manifest).
    """
    if save_every is not None and (isinstance(save_every, bool) or int(save_every) < 1):
        from zoolens.errors import ZoolensError

        raise ZoolensError(f"save_every must be a number of epochs ≥ 1, got {save_every!r}", "pass e.g. --save-every 1")
    jobs, notice = zoo_jobs(recipes, jobs)
    if notice:
        import warnings

        from zoolens.threads import OversubscriptionWarning

        warnings.warn(notice, OversubscriptionWarning, stacklevel=2)
    out = Path(out_dir)
    (out / "weights").mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    rows: dict[str, dict] = {}
    if manifest_path.is_file():
        rows = {r["name"]: r for r in json.loads(manifest_path.read_text())["models"]}
    x_test, y_test = test_data if test_data is not None else load_split("test")
    canonical = {name: i for i, name in enumerate(ZOO_RECIPES.get(zoo, {}))}  # manifest order = recipe order
    data = train_data if train_data is not None else load_split("train")
    plan = CheckpointPlan(zoo, out, int(save_every)) if save_every else None
    n_train = data[0].shape[0]

    def steps_of(recipe: Recipe) -> int:
        full = (n_train // recipe.batch_size) * recipe.epochs
        return full if max_steps is None else min(full, max_steps)

    def sequential() -> Iterator[tuple[Recipe, TrainResult]]:
        for recipe in recipes:
            cb = on_model_start(recipe, steps_of(recipe)) if on_model_start else None
            yield recipe, train_recipe(recipe, data, max_steps=max_steps, on_step=cb,
                                       on_epoch=epoch_callback(plan, recipe))

    parallel = jobs > 1 and len(recipes) > 1 and train_data is None  # workers read the train split themselves
    results = _train_parallel(recipes, jobs, on_model_start, steps_of, max_steps, plan) if parallel else sequential()
    done = []
    for recipe, res in results:
        row = write_model(zoo, recipe, res, out, x_test, y_test)
        rows[recipe.name] = row
        done.append(row)
        ordered = sorted(rows.values(), key=lambda r: canonical.get(r["name"], 10**6))
        tmpm = manifest_path.with_suffix(".json.tmp")
        tmpm.write_text(json.dumps({"zoo": zoo, "dataset": "fashion-mnist", "models": ordered}, indent=1) + "\n")
        tmpm.replace(manifest_path)
        if on_model_done:
            on_model_done(recipe, row)
    return done


__all__ = ["recipe_threads", "train_zoo", "write_model", "zoo_jobs"]
