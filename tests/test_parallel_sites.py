"""benchmarks/parallel_sites.py: every pool call of a model is timed by its site, inline and
on the pool, the outputs of both equal, and the report counts each site's calls per run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lamina.benchmarks.parallel_sites import Site, SiteProfile, report


def test_the_report_weighs_each_site_by_its_calls_per_run():
    # site 0: 2 calls a run of 10 us inline, 6 us pooled; site 1: 1 call of 30 / 40 us
    found = SiteProfile([Site(8, [10.0] * 4, [6.0] * 4), Site(3, [30.0] * 2, [40.0] * 2)], 2, True)
    lines = report(found, top=5).splitlines()
    assert [line.split()[:3] for line in lines[1:3]] == [["1", "3", "1.0"], ["0", "8", "2.0"]]
    assert lines[1].split()[-1] == "1.33" and lines[2].split()[-1] == "0.60"
    assert lines[-1] == (
        "2 sites, 1 no faster on the pool; per model run: inline 50 us, on the pool 52 us"
    )
    assert "FAILED" in report(SiteProfile(found.sites, 2, False), top=5)


def test_the_mlps_two_threaded_layers_are_timed_inline_and_on_the_pool():
    # in a process of its own: the wrapper replaces the pool symbol for later compiles
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    command = [sys.executable, "-m", "lamina.benchmarks.parallel_sites"]
    command += ["--model", "mlp_784_512_512_10", "--repeat", "2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    sites = [line.split() for line in lines[1:-1]]
    assert [(site[1], site[2]) for site in sites] == [("8", "1.0"), ("8", "1.0")]
    assert all(float(site[3]) > 0 and float(site[4]) > 0 for site in sites)
    assert lines[-1].startswith("2 sites, ")
