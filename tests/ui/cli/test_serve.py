"""`clinassist serve` (ui/cli/serve.py): ingests, then serves the app on loopback; a public
address needs auth."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.corpus import write_corpus
from tests.serving import serve_subprocess
from tests.ui.cli.console import assert_one_sentence_error, run

pytestmark = pytest.mark.slow


def test_serve_ingests_then_serves_the_app_on_loopback(tmp_path: Path) -> None:
    from gradio_client import Client

    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    xrays = tmp_path / "xrays"  # the imaging demo, on two images and a folder that is gone
    xrays.mkdir()
    for name in ("nih_00000001_000_512px.png", "SOURCE.txt"):
        shutil.copy(SHARED / "images" / "cxr-sample-fullres" / name, xrays / name)
    env = {
        "CLINASSIST_CORPUS_DIRS": str(corpus),
        "CLINASSIST_IMAGE_SAMPLE_DIRS": f"{xrays},{tmp_path / 'gone'}",
    }
    with serve_subprocess(tmp_path / "data", "--no-engine", env=env) as served:
        client = Client(served.url, verbose=False)
        passages = client.predict("venlafaxine hot flashes", 3, "", api_name="/search")
        assert passages[0]["title"].startswith("Hot Flashes and Night Sweats")
        answer = client.predict("Which drugs reduce hot flashes?", "", "", api_name="/ask")
        assert answer["mode"] == "extractive" and answer["citations"]
        # a follow-up in the same session is searched with the conversation's topic
        follow = client.predict(
            "And what about their side effects?", answer["session_id"], "", api_name="/ask"
        )
        [part] = follow["coverage"]
        assert part["searched"] == (
            "Which drugs reduce hot flashes? And what about their side effects?"
        )
        assert follow["citations"] and {c["title"] for c in follow["citations"]} <= {
            c["title"] for c in answer["citations"]
        }
        with pytest.raises(Exception, match="Type a question"):  # one sentence, no traceback
            client.predict("  ", "", "", api_name="/ask")
    output = served.output()
    assert served.process.returncode == 0  # SIGTERM, as a service manager sends, stops cleanly
    assert "6 new or changed" in output and served.url.removeprefix("http://") in output
    assert "Sample images from xrays: 1 indexed, 0 unchanged, 0 skipped" in output
    assert f"note: {tmp_path / 'gone'} is not a folder" in output
    assert "Traceback" not in output


def test_serve_refuses_a_public_address_without_auth(tmp_path: Path) -> None:
    result = run("serve", "--no-engine", "--host", "0.0.0.0", data_dir=tmp_path / "data")
    assert_one_sentence_error(result)
    assert "without --auth" in result.stderr
    weak = run("serve", "--no-engine", "--auth", "nurse:short", data_dir=tmp_path / "data")
    assert_one_sentence_error(weak)
