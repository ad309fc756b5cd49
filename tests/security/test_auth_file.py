"""`clinassist serve --auth-file FILE` (README's command table, SECURITY.md "Network exposure";
ui/cli/serve.py): FILE holds USER:PASSWORD lines (blank lines and `#` comments skipped,
passwords of 8 or more characters). The served app refuses a client without those credentials
and signs in each user of the file; a file that cannot be read, is malformed or names no one
stops `serve` with one sentence and a non-zero exit, before anything is served."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from agent.engine import free_port
from tests.serving import CLI, cli_environment, serve_subprocess
from tests.ui.cli.console import assert_one_sentence_error

pytestmark = pytest.mark.slow

USERS = {"nurse": "correct-horse-1", "doctor": "battery: staple 2"}  # a colon in a password
AUTH_FILE = """# clinassist sign-in: one USER:PASSWORD a line
    # ward 4: night nurses
nurse:correct-horse-1

doctor:battery: staple 2
"""


def test_serve_with_an_auth_file_signs_in_its_users_only(tmp_path: Path) -> None:
    auth_file = tmp_path / "clinassist-auth"
    auth_file.write_text(AUTH_FILE, encoding="utf-8")
    args = ("--no-engine", "--no-imaging-demo", "--auth-file", str(auth_file))
    with serve_subprocess(tmp_path / "data", *args, env={"CLINASSIST_CORPUS_DIRS": ""}) as served:
        url = served.url
        assert httpx.get(f"{url}/config", timeout=10).status_code == 401
        call = httpx.post(
            f"{url}/gradio_api/call/search", json={"data": ["hot flashes", 3, "", ""]}, timeout=10
        )
        assert call.status_code == 401
        wrong = httpx.post(
            f"{url}/login", data={"username": "nurse", "password": "battery: staple 2"}, timeout=10
        )
        assert wrong.status_code == 400  # another user's password
        for user, password in USERS.items():
            with httpx.Client(base_url=url, timeout=10) as client:
                signed_in = client.post("/login", data={"username": user, "password": password})
                assert signed_in.status_code == 200, user
                assert client.get("/config").status_code == 200, user
        # no comment line is a user, indented or not
        for user, password in (
            ("# clinassist sign-in", " one USER:PASSWORD a line"),
            ("# ward 4", " night nurses"),
            ("# ward 4", "night nurses"),
        ):
            comment = httpx.post(
                f"{url}/login", data={"username": user, "password": password}, timeout=10
            )
            assert comment.status_code == 400, user
    assert "Traceback" not in served.output()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read the credentials file"),  # no such file
        (b"nurse:correct-horse-1\n\xff\xfe\n", "cannot read the credentials file"),  # not UTF-8
        (b"nurse correct-horse-1\n", "credentials are USER:PASSWORD"),  # no colon
        (b"nurse:short\n", "password of 8 or more characters"),
        (b":correct-horse-1\n", "credentials are USER:PASSWORD"),  # no user
        (b"# nobody yet\n\n  # indented\n", "holds no USER:PASSWORD line"),  # names no one
    ],
    ids=["missing", "not-utf8", "no-colon", "short-password", "no-user", "no-user-line"],
)
def test_a_bad_auth_file_stops_serve_in_one_sentence(
    tmp_path: Path, content: bytes | None, says: str
) -> None:
    auth_file = tmp_path / "clinassist-auth"
    if content is not None:
        auth_file.write_bytes(content)
    serve = [str(CLI), "serve", "--no-engine", "--no-imaging-demo", "--port", str(free_port())]
    try:
        result = subprocess.run(
            [*serve, "--auth-file", str(auth_file)],
            env=cli_environment(tmp_path / "data", CLINASSIST_CORPUS_DIRS=""),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,  # a bound, not a measure: once started, `serve` serves until stopped
        )
    except subprocess.TimeoutExpired:
        pytest.fail("serve started with this credentials file")
    assert_one_sentence_error(result)
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert "Serving clinassist" not in result.stdout
