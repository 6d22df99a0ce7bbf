"""`docker.image` against a real engine: build from a context, tag, look up."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from runner.actions.base import ActionArgError, ActionContext, ActionOutcome
from runner.actions.docker_image import DockerImageAction
from runner.connections.base import CancelToken
from runner.inventory.model import Host
from runner.templating.templar import Templar
from tests.lab.docker_lab import IMAGE_REPO, BusyboxImages

pytestmark = pytest.mark.integration

HOST = Host("gw", "gw", "docker", None, None, {}, ())


def image_step(args: dict[str, Any]) -> ActionOutcome:
    action = DockerImageAction()
    ctx = ActionContext(HOST, None, Templar(), {}, CancelToken(), None)
    return action.execute(action.plan(args, HOST), ctx)


@pytest.fixture
def scratch_tag(docker_engine: Any) -> Iterator[str]:
    """A fresh tag in the test repository, removed afterwards."""
    ref = f"{IMAGE_REPO}:scratch-{uuid.uuid4().hex[:10]}"
    yield ref
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_engine.images.remove(ref, noprune=False)


def test_build_from_a_context_directory_tags_the_result(
    tmp_path: Path, scratch_tag: str, busybox_image: BusyboxImages
) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {busybox_image.v1}\nARG RELEASE\nRUN echo $RELEASE > /VERSION\n"
    )
    built = image_step({"name": scratch_tag, "build": str(tmp_path), "build_args": {"RELEASE": 3}})
    assert built.ok, built.stdout
    assert built.data["changed"] is True and built.data["previous_image_id"] is None
    assert built.data["image_id"].startswith("sha256:")
    assert built.data["image_id"] not in (busybox_image.v1_id, busybox_image.v2_id)


def test_failed_build_reports_the_builder_error(tmp_path: Path, scratch_tag: str) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nRUN /does-not-exist\n")
    outcome = image_step({"name": scratch_tag, "build": str(tmp_path)})
    assert not outcome.ok
    assert "build of" in outcome.msg
    assert "does-not-exist" in outcome.stdout


def test_tag_points_a_name_at_an_existing_image_once(
    scratch_tag: str, busybox_image: BusyboxImages
) -> None:
    first = image_step({"name": scratch_tag, "source": busybox_image.v2})
    assert first.ok and first.data["changed"] is True
    assert first.data["image_id"] == busybox_image.v2_id
    again = image_step({"name": scratch_tag, "source": busybox_image.v2_id})
    assert again.ok and again.data["changed"] is False


def test_look_up_gives_the_id_or_a_clear_failure(busybox_image: BusyboxImages) -> None:
    found = image_step({"name": busybox_image.v1})
    assert found.ok and found.data["image_id"] == busybox_image.v1_id
    assert found.data["changed"] is False
    missing = image_step({"name": f"{IMAGE_REPO}:absent"})
    assert not missing.ok and "not on the engine" in missing.msg
    tolerated = image_step({"name": f"{IMAGE_REPO}:absent", "missing_ok": True})
    assert tolerated.ok and tolerated.data["exists"] is False


def test_plan_rejects_build_and_source_together() -> None:
    with pytest.raises(ActionArgError, match="not both"):
        DockerImageAction().plan({"name": "a:1", "build": ".", "source": "b:1"}, HOST)
