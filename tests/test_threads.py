"""Workers × threads never exceed the cores: the pure arithmetic shared by Ray units and ``zoo train --jobs``."""

from __future__ import annotations

import warnings

import pytest

from zoolens.errors import ZoolensError
from zoolens.threads import OversubscriptionWarning, available_cores, fit_jobs, ray_unit_threads, threads_per_worker


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning expected
        return fn(*args, **kw)


def test_threads_per_worker_divides_the_cores():
    assert _quiet(threads_per_worker, 16, 4) == 4
    assert _quiet(threads_per_worker, 16, 5) == 3
    assert _quiet(threads_per_worker, 3, 5) == 1  # at least one thread, nothing requested: no warning
    assert _quiet(threads_per_worker, 16, 4, requested=2) == 2
    assert _quiet(threads_per_worker, 16, 4, requested=4) == 4


def test_a_request_that_does_not_fit_is_cut_down_with_a_warning():
    with pytest.warns(OversubscriptionWarning, match="8 threads × 4 workers exceed 16 cores: using 4"):
        assert threads_per_worker(16, 4, requested=8) == 4
    with pytest.warns(OversubscriptionWarning, match="5 workers on 2 cores"):
        assert threads_per_worker(2, 5, requested=1) == 1
    with pytest.raises(ZoolensError, match="whole number ≥ 1"):
        threads_per_worker(4, 1, requested=0)
    with pytest.raises(ValueError):
        threads_per_worker(0, 1)


@pytest.mark.parametrize("cpus,cores,threads", [(1, 16, 1), (4, 16, 4), (2.5, 16, 2), (0.5, 16, 1), (0, 16, 1),
                                                 (16, 16, 16), (3, 2, 2)])
def test_a_ray_unit_runs_its_reserved_cpus_as_threads(cpus, cores, threads):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OversubscriptionWarning)  # (3, 2): a node registered more CPUs than it has
        assert ray_unit_threads(cpus, cores) == threads
    # the units Ray runs at once on the node (⌊cores / cpus⌋) never use more threads than it has cores
    if cpus >= 1 and cpus <= cores:
        assert int(cores // cpus) * threads <= cores


def test_jobs_default_to_what_fits_and_a_larger_request_is_cut_down():
    assert fit_jobs(16, 1, tasks=100) == (16, None)
    assert fit_jobs(16, 2, tasks=100) == (8, None)
    assert fit_jobs(16, 1, tasks=3) == (3, None)  # never more processes than models
    assert fit_jobs(1, 4, tasks=3) == (1, None)  # one job even when its threads alone exceed the cores
    assert fit_jobs(16, 2, tasks=100, requested=4) == (4, None)
    jobs, notice = fit_jobs(16, 2, tasks=100, requested=20)
    assert jobs == 8 and notice == ("--jobs 20 × 2 thread(s) would exceed this machine's 16 core(s): "
                                    "running 8 job(s) at once")
    assert fit_jobs(4, 1, tasks=2, requested=9)[0] == 2


def test_available_cores_is_positive():
    assert available_cores() >= 1
