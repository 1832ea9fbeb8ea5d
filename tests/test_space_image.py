"""The Space image without Docker: the Dockerfile's steps (scripts/space.sh) install and serve
as UID 1000 from a fresh folder, and /_stcore/health answers ok."""

from __future__ import annotations

import os

import pytest

from scripts.space_check import check
from tests.conftest import ROOT


def test_dockerfile_runs_the_checked_steps():
    docker = (ROOT / "Dockerfile").read_text()
    for step in ("sh scripts/space.sh install", "sh scripts/space.sh prepare"):
        assert f"RUN {step}" in docker
    assert 'CMD ["sh", "scripts/space.sh", "start"]' in docker
    assert "USER user" in docker and "useradd -m -u 1000 user" in docker


@pytest.mark.slow
def test_space_steps_install_and_serve_as_uid_1000_in_a_fresh_folder():
    res = check(engine="skip")
    assert res.get("ok"), res
    assert res["embedded_params"] == 22_713_216 and res["index_status"] == 200
    if os.geteuid() == 0:
        assert res["uid"] == 1000
