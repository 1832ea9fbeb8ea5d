"""Shared fixtures: offline by default, embedded models loaded once per test session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session", autouse=True)
def _broken_model_loads():
    """`GALLERY_TEST_BREAK_LOADS=1 pytest …`: every model load fails, as on a machine where the
    embedded packages are missing. Every test that needs a model must then fail (see
    CONTRIBUTING: a test that still passes is a defect)."""
    if os.environ.get("GALLERY_TEST_BREAK_LOADS") != "1":
        yield
        return
    from models import loader

    real = loader.load

    def broken(key, *args, **kwargs):
        raise loader.ModelLoadError(f"Could not load {key}: broken on purpose for this test run")

    loader.load = broken
    yield
    loader.load = real


@pytest.fixture(scope="session")
def minilm():
    from models import loader

    return loader.load("minilm-embedded")


@pytest.fixture(scope="session")
def smollm2():
    from models import loader

    return loader.load("smollm2-embedded")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED_DATA


@pytest.fixture(scope="module")
def one_thread():
    """Training tests share two cores with other processes; two OpenMP threads each then spin
    against each other (measured 4x slower). Behaviour, not speed, is under test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def reduced_argv(argv: tuple[str, ...], flags: dict[str, str | tuple[str, ...] | None]):
    """A prepared step's command with some flags changed: a flag it has takes the new value (None
    drops the flag and its value), a flag it lacks is appended (a tuple: several values)."""
    out = list(argv)
    for flag, value in flags.items():
        values = [] if value is None else [value] if isinstance(value, str) else list(value)
        if flag in out:
            i = out.index(flag)
            out[i : i + 2] = [flag, *values] if values else []
        elif values:
            out += [flag, *values]
    return tuple(out)


@pytest.fixture(scope="session")
def _reduced_cache(tmp_path_factory) -> Path:
    """One cache for every reduced prepared state of the session (a state two test modules need is
    built once): the real cache's models seen through links, its own `prepared/` folder."""
    from models import loader

    real, tmp = loader.cache_root(), tmp_path_factory.mktemp("reduced-cache")
    (tmp / "prepared").mkdir()
    for entry in real.iterdir() if real.exists() else []:
        if entry.name != "prepared":
            (tmp / entry.name).symlink_to(entry)
    return tmp


@pytest.fixture(scope="module")
def prepared_states(_reduced_cache):
    """`prepared_states({name: flags, ...}, usable=None)`: the prepared states a lesson's test
    asserts on. When `make prepare` built them all here (and `usable()`, if given, accepts them:
    made by the current defaults), those. Otherwise GALLERY_CACHE names the session's reduced
    cache for the rest of the module, where each state is the real one (when built here and no
    `usable` test applies), one an earlier module built, or its step's own command with some flags
    changed (`reduced_argv`: a reduced budget, e.g. `{"--seeds": "0,1"}`). A clean clone pays each
    reduced budget once per session and never keeps a reduced state."""
    from dataclasses import replace

    from models import prepared

    mp = pytest.MonkeyPatch()
    real = prepared.root()

    def need(steps: dict[str, dict], usable=None) -> dict[str, Path]:
        names = list(steps)
        if not (all(prepared.ready(n) for n in names) and (usable is None or usable())):
            mp.setenv("GALLERY_CACHE", str(_reduced_cache))
            fresh_model_caches()  # the pages must load these states, not another cache's handles
            for name, flags in steps.items():
                here, built = prepared.path(name), real / name / "record.json"
                if (here / "record.json").exists():
                    continue
                if usable is None and built.exists():
                    here.symlink_to(real / name)
                    continue
                step = prepared.step(name)
                prepared.run_step(
                    replace(step, argv=reduced_argv(step.argv, flags)), log=lambda _: None
                )
        return {n: prepared.path(n) for n in names}

    yield need
    if os.environ.get("GALLERY_CACHE") == str(_reduced_cache):
        mp.undo()
        fresh_model_caches()  # the next module's pages load from the real cache again


def fresh_model_caches() -> None:
    """Forget every model handle and cached result this process holds, as a new server would:
    a test that points GALLERY_CACHE or the Hub cache somewhere else must not get a handle an
    earlier test loaded from the old place."""
    import streamlit as st

    from ui import models as ui_models

    st.cache_data.clear()
    st.cache_resource.clear()
    ui_models._ready.clear()
