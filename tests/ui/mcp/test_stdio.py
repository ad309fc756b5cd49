"""`clinassist mcp` over stdio (ui/mcp): a real subprocess, driven by the MCP SDK's own client.

The tools are the agent's own, with their schemas and one-sentence errors; results are JSON with
provenance, flags and the standing notice; every call is audited without patient text."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import SHARED
from tests.pacs import Orthanc, canaries, plant_study
from tests.serving import audit_rows, cli_environment
from tests.ui.mcp.conftest import REQUIRED_TOOLS, mcp_command, run_async

pytestmark = pytest.mark.slow

CASE = (
    "Jane Doe, 71-year-old woman. Problems: atrial fibrillation, hypertension. Medications: "
    "amiodarone, citalopram. Allergies: penicillin. Creatinine 1.1 mg/dL, weight 64 kg."
)


def stdio_server(data_dir: Path, image_dirs: tuple[Path, ...] = ()) -> StdioServerParameters:
    """`clinassist mcp` over stdio; `analyze_image` may open paths under `image_dirs` only."""
    command, *args = mcp_command()
    env = cli_environment(data_dir, CLINASSIST_IMAGE_PATH_DIRS=",".join(str(d) for d in image_dirs))
    return StdioServerParameters(command=command, args=args, env=env, cwd=data_dir.parent)


def test_tools_are_listed_and_interactions_come_back_with_their_source(
    mcp_data_dir: Path,
) -> None:
    async def scenario() -> tuple[Any, Any, Any]:
        async with Client(stdio_server(mcp_data_dir)) as client:
            listed = await client.list_tools()
            checked = await client.call_tool(
                "check_interactions", {"medications": ["amiodarone", "citalopram"]}
            )
            found = await client.call_tool("search_guidelines", {"query": "hot flashes"})
            return listed, checked, found

    listed, checked, found = run_async(scenario)
    tools = {tool.name: tool for tool in listed.tools}
    assert REQUIRED_TOOLS | {"ask", "egfr_ckd_epi_2021", "cha2ds2_vasc"} <= set(tools)
    # the agent's own argument schemas
    medications = tools["check_interactions"].input_schema["properties"]["medications"]
    assert medications["type"] == "array" and medications["maxItems"] == 50
    assert "path" in tools["analyze_image"].input_schema["properties"]
    assert "case" in tools["plan_treatment"].input_schema["required"]

    assert not checked.is_error
    payload = checked.structured_content
    assert json.loads(checked.content[0].text) == payload
    [pair] = payload["result"]["interactions"]
    assert {pair["drug_a"], pair["drug_b"]} == {"amiodarone", "citalopram"}
    assert "ONC" in pair["source"] and pair["license"] and pair["list_name"]
    [flag] = payload["flags"]
    assert flag["kind"] == "interaction" and flag["severity"] == "stop"
    assert set(flag["drugs"]) == {"amiodarone", "citalopram"}
    assert "clinical judgement" in payload["notice"]

    assert not found.is_error
    passages = found.structured_content["result"]["passages"]
    assert passages and passages[0]["title"].startswith("Hot Flashes")
    assert passages[0]["url"] == "https://guidelines.example.org/hot-flashes"
    assert passages[0]["license"] and passages[0]["corpus"] and passages[0]["source"]


def test_bad_calls_are_tool_errors_of_one_sentence_and_the_server_stays_up(
    mcp_data_dir: Path,
) -> None:
    async def scenario() -> tuple[dict[str, Any], list[str]]:
        outcomes = {}
        async with Client(stdio_server(mcp_data_dir, image_dirs=(mcp_data_dir,))) as client:
            for name, arguments in (
                ("check_interactions", {"medications": "amiodarone"}),
                ("check_interactions", {"medications": []}),
                ("egfr_ckd_epi_2021", {"age_years": 150, "sex": "female", "creatinine_mg_dl": 1}),
                ("analyze_image", {"path": str(mcp_data_dir / "no-such-scan.dcm")}),
                ("analyze_image", {}),
                ("plan_treatment", {"case": "   "}),
                ("ask", {"question": "hot flashes?", "session_id": "not a session id!"}),
                ("no_such_tool", {}),
            ):
                outcomes[f"{name} {json.dumps(arguments)}"] = await client.call_tool(
                    name, arguments
                )
            still = await client.list_tools()
        return outcomes, [tool.name for tool in still.tools]

    outcomes, still_listed = run_async(scenario)
    for call, result in outcomes.items():
        assert result.is_error, call
        [content] = result.content
        text = content.text
        assert "Traceback" not in text and "\n" not in text, call
        assert text.endswith("."), call
    texts = [result.content[0].text for result in outcomes.values()]
    assert "medications: Input should be a valid list" in texts[0]
    assert "at least 1 item" in texts[1]
    assert texts[2] == (
        "Cannot calculate eGFR (CKD-EPI 2021): age_years must be at most 120 (got 150)."
    )
    assert texts[3] == "The file cannot be read (No such file or directory)."
    assert "name the image by exactly one of: path" in texts[4]
    assert "session_id" in texts[6]
    assert texts[7] == "There is no tool called 'no_such_tool'."
    assert set(still_listed) >= REQUIRED_TOOLS


def test_analyze_image_opens_paths_only_inside_the_image_path_dirs(
    mcp_data_dir: Path, chest_png: Path
) -> None:
    """A readable image outside `image_path_dirs`, reached directly, through `..` or through
    a link inside the folder, is refused in one sentence; the same image inside is analysed."""
    allowed = mcp_data_dir.parent / "scans"
    allowed.mkdir()
    inside = allowed / "chest.png"
    shutil.copy(chest_png, inside)
    (allowed / "link.png").symlink_to(chest_png)
    up_to_root = allowed.joinpath(*[".."] * len(allowed.parts))
    outside = [chest_png, up_to_root / chest_png.relative_to("/"), allowed / "link.png"]
    assert all(path.resolve() == chest_png.resolve() for path in outside)  # the same image

    async def scenario() -> list[Any]:
        async with Client(stdio_server(mcp_data_dir, image_dirs=(allowed,))) as client:
            return [
                await client.call_tool("analyze_image", {"path": path})
                for path in map(str, (inside, *outside))
            ]

    analysed, *refused = run_async(scenario)
    assert not analysed.is_error, analysed.content
    assert analysed.structured_content["result"]["metadata"]["rows"] == 320
    for result in refused:
        assert result.is_error
        [content] = result.content
        assert content.text == (
            "This server opens images only in the folders its image_path_dirs setting names, "
            "and this path is not in one of them."
        )


def test_image_plan_and_ask_are_audited_without_patient_text(
    mcp_data_dir: Path, chest_png: Path
) -> None:
    async def scenario() -> tuple[Any, Any, Any]:
        async with Client(stdio_server(mcp_data_dir, image_dirs=(chest_png.parent,))) as client:
            image = await client.call_tool("analyze_image", {"path": str(chest_png)})
            plan = await client.call_tool("plan_treatment", {"case": CASE})
            asked = await client.call_tool(
                "ask", {"question": "Which drugs reduce hot flashes?", "case": CASE}
            )
            return image, plan, asked

    image, plan, asked = run_async(scenario)
    assert not image.is_error, image.content
    analysis = image.structured_content["result"]
    assert analysis["image"] == "image-1"  # never the file's name
    assert analysis["metadata"]["source_type"] == "png" and analysis["metadata"]["rows"] == 320
    assert "research" in analysis["notice"].lower()
    assert chest_png.name not in json.dumps(image.structured_content)

    assert not plan.is_error, plan.content
    planned = plan.structured_content["result"]
    assert planned["plan"]["mode"] in ("extractive", "generated", "abstained")
    interaction = [f for f in plan.structured_content["flags"] if f["kind"] == "interaction"]
    assert interaction and interaction[0]["severity"] == "stop"
    assert {"amiodarone", "citalopram"} <= set(interaction[0]["drugs"])
    assert planned["case_read"]["age_years"] == 71

    assert not asked.is_error, asked.content
    turn = asked.structured_content["result"]
    assert turn["mode"] == "extractive" and turn["session_id"]  # no engine: quoted passages
    assert turn["citations"]  # the premise of the check of each below
    for citation in turn["citations"]:
        assert {"passage_id", "title", "url", "license"} <= set(citation)

    rows = audit_rows(mcp_data_dir)
    trail = json.dumps(rows)
    for text in (CASE, "Jane Doe", chest_png.name, str(chest_png), "Which drugs reduce"):
        assert text not in trail
    by_tool = {row["tool_calls"][0]["name"]: row for row in rows if row["mode"] == "mcp"}
    assert set(by_tool) == {"analyze_image", "plan_treatment"}  # this test's calls, no other's
    planned_row = by_tool["plan_treatment"]
    assert planned_row["session"].startswith("mcp-") and planned_row["tool_calls"][0]["ok"]
    assert planned_row["tool_calls"][0]["arguments"]["case"].startswith(f"[text: {len(CASE)}")
    assert planned_row["tool_calls"][0]["chosen_by"] == "mcp"
    assert any(flag["kind"] == "interaction" for flag in planned_row["flags"])
    path_argument = by_tool["analyze_image"]["tool_calls"][0]["arguments"]["path"]
    assert path_argument.startswith("[text: ")
    # ask was audited once, by its own turn (its answer mode, its session), not again as mcp
    turns = [row for row in rows if row["session"] == turn["session_id"]]
    assert len(turns) == 1 and turns[0]["mode"] == turn["mode"]
    mcp_asks = [row["tool_calls"][0] for row in rows if row["mode"] == "mcp"]
    assert not [call for call in mcp_asks if call["name"] == "ask" and call["ok"]]
    # the trail is append-only as ever
    with pytest.raises(sqlite3.DatabaseError):
        connection = sqlite3.connect(mcp_data_dir / "audit.sqlite")
        try:
            connection.execute("DELETE FROM turns")
        finally:
            connection.close()


def test_analyze_image_reads_a_pacs_study_de_identified_and_audited_by_hash(
    mcp_data_dir: Path, orthanc: Orthanc, tmp_path: Path
) -> None:
    samples = SHARED / "images" / "dicom-samples"
    study_uid, instances = plant_study(
        orthanc, [samples / "CT_small.dcm", samples / "US_rgb_US1_J2KR.dcm"], accession="ACCMCP88"
    )
    command, *args = mcp_command()
    server = StdioServerParameters(
        command=command,
        args=args,
        env=cli_environment(
            mcp_data_dir,
            CLINASSIST_DICOMWEB_URL=orthanc.dicomweb_url,
            CLINASSIST_DICOMWEB_AUTH_FILE=str(orthanc.auth_file),
        ),
        cwd=mcp_data_dir.parent,
    )

    async def scenario() -> tuple[Any, Any, Any]:
        async with Client(server) as client:
            by_uid = await client.call_tool("analyze_image", {"study": study_uid})
            missing = await client.call_tool("analyze_image", {"study": "ACC-NOT-THERE"})
            both = await client.call_tool(
                "analyze_image", {"study": study_uid, "path": "/tmp/x.dcm"}
            )
            return by_uid, missing, both

    by_uid, missing, both = run_async(scenario)
    assert not by_uid.is_error, by_uid.content
    result = by_uid.structured_content["result"]
    assert sorted(result["modalities"]) == ["CT", "US"]
    assert [image["image"] for image in result["images"]] == ["image-1", "image-2"]
    assert result["structured_report"] is None  # MCP reads; only the clinician writes back
    assert missing.is_error and "no study with that accession number" in str(missing.content)
    assert both.is_error and "exactly one of" in str(both.content)
    shown = json.dumps(by_uid.structured_content).lower()
    trail = json.dumps(audit_rows(mcp_data_dir)).lower()
    for needle in canaries("ACCMCP88", study_uid, *instances):
        assert needle.lower() not in shown, needle
        assert needle.lower() not in trail, needle
