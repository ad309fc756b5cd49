"""PHI canaries (issue 7): identifying values planted in DICOM tags (a private tag included), in
a file's name and in pasted case text must not reach any file the app writes, any prompt sent
to the model, any log, or any message shown. The agent runs with the real engine, reached
through a proxy that records every request byte; then every file under the data dir, the
engine's log and the app's logging output (every level) are scanned. No patient text is logged
(SECURITY.md): not the case's clinical text nor the question either."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pydicom
import pytest
from pydicom.data import get_testdata_file

from agent.engine import EngineStatus
from agent.events import FinalEvent, FlagEvent
from agent.graph import Agent
from agent.llm import client_for
from agent.service import Service
from agent.settings import Settings
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from tests.conftest import SHARED
from tests.corpus import write_corpus
from tests.netproxy import CuttableProxy
from tests.pacs import Orthanc, plant_study
from tests.pacs import canaries as pacs_canaries
from tests.ui.cli.console import run

pytestmark = pytest.mark.slow

DICOM_CANARIES = {
    "PatientName": "KESTRELCANARY^ADA",
    "PatientID": "DCMID884422",
    "PatientBirthDate": "19470203",
    "PatientAddress": "7 Canarywharf Lane",
    "PatientTelephoneNumbers": "555-0199-CANARY",
    "InstitutionName": "HERONCANARY HOSPITAL",
    "ReferringPhysicianName": "CANARYDOC^BOB",
    "PerformingPhysicianName": "CANARYPERF^EVE",
    "OperatorsName": "CANARYOP^TOM",
    "AccessionNumber": "ACC99887766",
    "StationName": "STATIONCANARY",
    "StudyID": "STUDY4455",
    "StudyDate": "20190312",
    "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.1234567890123",
}
FILE_CANARY = "FILENAMECANARY"
CASE_CANARIES = ("QUILLFEATHER", "5531907", "Lark Street", "1951-06-17")
CASE = (
    "Patient: Ada QUILLFEATHER, MRN 5531907, born 1951-06-17, 42 Lark Street. "
    "62-year-old woman with hot flashes. Meds: venlafaxine 75 mg daily. Creatinine 0.9 mg/dL."
)
QUESTION = "Which drugs reduce hot flashes?"
# The case's clinical text, no identifier in it: the model is sent it (de-identified, as data);
# no log is, nor the question (a clinician's question may carry patient details).
CASE_TEXT = ("62-year-old woman with hot flashes", "venlafaxine 75 mg daily")
# Planted by the test itself in each log scanned: the scan is shown to see that log.
LOG_CONTROLS = {"app logging": "LOGCONTROLWAXWING", "engine log": "LOGCONTROLSHRIKE"}


# Names planted in a case's lists (issue 17, finding 6): short entries were audited verbatim.
LIST_CANARIES = ("Kestreldoe", "Canaryson", "Wrenfieldia")
LIST_CASE = {
    "age_years": 71,
    "sex": "female",
    "diagnoses": ["atrial fibrillation", "Wrenfieldia syndrome"],
    "medications": ["amiodarone 200 mg daily", "citalopram 20 mg daily", "Jane Kestreldoe"],
    "allergies": ["penicillin per Dr Bob Canaryson"],
}


def canaries() -> list[str]:
    values = [v.split("^")[0] for v in DICOM_CANARIES.values()]
    return [*values, "PRIVATECANARY", FILE_CANARY, *CASE_CANARIES]


def planted_dicom(folder: Path) -> Path:
    source = get_testdata_file("CT_small.dcm", download=False)
    assert source is not None
    dataset = pydicom.dcmread(source)
    for keyword, value in DICOM_CANARIES.items():
        setattr(dataset, keyword, value)
    block = dataset.private_block(0x0011, "CANARY CREATOR", create=True)
    block.add_new(0x01, "LO", "PRIVATECANARY")
    path = folder / f"{FILE_CANARY}_ct.dcm"
    dataset.save_as(path)
    return path


class LogScan:
    """What the app logs through Python `logging` at every level (the root logger, captured by
    `caplog`), and what the engine writes to its log (`<engine data dir>/engine/engine.log`),
    from the scan's start: the session engine's log holds other tests' turns before it."""

    def __init__(self, caplog: pytest.LogCaptureFixture, engine: EngineStatus) -> None:
        assert engine.log and engine.url
        self.caplog, self.engine_url = caplog, engine.url
        self.engine_log = Path(engine.log)
        caplog.set_level(1)  # every level there is, DEBUG and below
        self.offset = self.engine_log.stat().st_size

    def logs(self) -> dict[str, str]:
        """Both logs, lower-cased, once a control planted in each (an app logger's DEBUG
        record; a request whose line the engine's access log writes) is found by this scan,
        with the engine's record of this test's own chat requests."""
        logging.getLogger("agent.graph").debug("control %s", LOG_CONTROLS["app logging"])
        control = httpx.get(f"{self.engine_url}/health?{LOG_CONTROLS['engine log']}", timeout=10)
        assert control.status_code == 200
        data = self.engine_log.read_bytes()[self.offset :]
        logs = {
            "app logging": self.caplog.text.lower(),
            "engine log": data.decode("utf-8", errors="replace").lower(),
        }
        for log, planted in LOG_CONTROLS.items():
            assert planted.lower() in logs[log], f"the scan does not see the {log}"
        assert '"post /v1/chat/completions' in logs["engine log"], "no turn in the engine log"
        return logs


def test_phi_canaries_reach_no_file_no_prompt_no_log_and_no_message(
    make_kb: Callable[..., KnowledgeBase],
    engine: EngineStatus,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert engine.url and engine.model
    scan = LogScan(caplog, engine)
    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    data_dir = tmp_path / "data"
    ingest(make_kb(data_dir), [corpus])
    uploads = tmp_path / f"uploads-{FILE_CANARY}"
    uploads.mkdir()
    dicom = planted_dicom(uploads)
    broken = uploads / f"{FILE_CANARY}_broken.dcm"
    broken.write_bytes(b"DICM" + b"\x00" * 64)

    target = urlparse(engine.url)
    with CuttableProxy(target.hostname or "127.0.0.1", target.port or 80, record=True) as proxy:
        settings = Settings(data_dir=data_dir, corpus_dirs=[], answer_mode="generated")
        llm = client_for(settings, proxy.url, engine.model, lambda: False)
        agent = Agent(settings, make_kb(data_dir), llm, model_name=engine.model)
        try:
            events = list(
                agent.run(
                    QUESTION,
                    session_id="canary-session",
                    attachments=[dicom, broken],
                    case=CASE,
                )
            )
            follow_up = list(agent.run("And at night?", session_id="canary-session"))
            plan = Service(agent.settings, agent.kb, agent.llm).plan(CASE)
        finally:
            agent.close()
        prompts = bytes(proxy.requests).decode("utf-8", errors="replace").lower()
    logs = scan.logs()

    final = events[-1]
    assert isinstance(final, FinalEvent) and isinstance(follow_up[-1], FinalEvent)
    assert prompts, "no request reached the model: the test would prove nothing"
    # the planted DICOM was read and analysed (its canaries had a way in), the broken one not
    assert any(call["name"] == "analyze_image" for call in final.result.as_json()["tool_calls"])
    assert any(
        isinstance(e, FlagEvent) and "Attachment 2 was not used" in e.flag.message for e in events
    )
    shown = "\n".join(
        [
            json.dumps(final.result.as_json()),
            json.dumps(follow_up[-1].result.as_json()),
            plan.model_dump_json(),
            plan.to_markdown(),
        ]
    ).lower()
    written = {path: path.read_bytes().lower() for path in data_dir.rglob("*") if path.is_file()}
    assert any(path.name == "sessions.sqlite" for path in written)
    assert any(path.name == "audit.sqlite" for path in written)
    for canary in canaries():
        needle = canary.lower()
        assert needle not in prompts, f"{canary} reached a model prompt"
        assert needle not in shown, f"{canary} reached what the app shows"
        leaked = [
            str(p.relative_to(data_dir)) for p, data in written.items() if needle.encode() in data
        ]
        assert not leaked, f"{canary} was written to {leaked}"
    assert "venlafaxine 75 mg daily" in prompts  # the case's clinical text did reach the model
    for text in [*canaries(), *CASE_TEXT, QUESTION]:
        logged = [log for log, data in logs.items() if text.lower() in data]
        assert not logged, f"{text!r} was logged in the {logged}"


def test_a_pacs_study_in_a_chat_turn_reaches_no_prompt_no_log_and_no_file(
    make_kb: Callable[..., KnowledgeBase],
    engine: EngineStatus,
    orthanc: Orthanc,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The study arrives over DICOMweb with a planted identity; the turn runs with the real
    # engine (generated answers: the model is asked) behind a proxy that records every byte.
    assert engine.url and engine.model
    samples = SHARED / "images" / "dicom-samples"
    study_uid, instances = plant_study(orthanc, [samples / "CT_small.dcm"], accession="ACCPROMPT31")
    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    data_dir = tmp_path / "data"
    ingest(make_kb(data_dir), [corpus])
    scan = LogScan(caplog, engine)
    target = urlparse(engine.url)
    with CuttableProxy(target.hostname or "127.0.0.1", target.port or 80, record=True) as proxy:
        settings = Settings(
            data_dir=data_dir,
            corpus_dirs=[],
            answer_mode="generated",
            dicomweb_url=orthanc.dicomweb_url,
            dicomweb_auth_file=orthanc.auth_file,
        )
        llm = client_for(settings, proxy.url, engine.model, lambda: False)
        service = Service(settings, make_kb(data_dir), llm, model_name=engine.model)
        try:
            studies = service.pacs.open("ACCPROMPT31")
            events = list(
                service.run(
                    "Which drugs reduce hot flashes?", session_id="pacs-canary", attachments=studies
                )
            )
        finally:
            service.close()
        prompts = bytes(proxy.requests).decode("utf-8", errors="replace").lower()
    logs = scan.logs()
    final = events[-1]
    assert isinstance(final, FinalEvent)
    assert prompts, "no request reached the model: the test would prove nothing"
    assert any(call["name"] == "analyze_image" for call in final.result.as_json()["tool_calls"])
    shown = json.dumps(final.result.as_json()).lower()
    written = {path: path.read_bytes().lower() for path in data_dir.rglob("*") if path.is_file()}
    assert any(path.name == "audit.sqlite" for path in written)
    for needle in pacs_canaries("ACCPROMPT31", study_uid, *instances):
        needle = needle.lower()
        assert needle not in prompts, f"{needle} reached a model prompt"
        assert needle not in shown, f"{needle} reached what the app shows"
        leaked = [str(p.relative_to(data_dir)) for p, d in written.items() if needle.encode() in d]
        assert not leaked, f"{needle} was written to {leaked}"
        logged = [log for log, data in logs.items() if needle in data]
        assert not logged, f"{needle} was logged in the {logged}"


def test_names_in_a_case_lists_reach_no_audit_row(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    # A turn (extractive: no engine needed) with a case whose lists carry names; the interaction
    # check is run on them. Then `clinassist audit export`
    # and the audit database's files hold none of the names, and the drugs by their names.
    data_dir = tmp_path / "data"
    ingest(make_kb(data_dir), [write_corpus(tmp_path / "guides", with_pdf=False)])
    settings = Settings(data_dir=data_dir, corpus_dirs=[], answer_mode="extractive")
    service = Service(settings, make_kb(data_dir))
    try:
        events = list(
            service.run(
                "Is amiodarone with citalopram a problem?",
                session_id="list-canaries",
                case=json.dumps(LIST_CASE),
            )
        )
    finally:
        service.close()
    assert isinstance(events[-1], FinalEvent)
    exported = run("audit", "export", data_dir=data_dir)
    assert exported.returncode == 0, exported.stderr
    stored = {p.name: p.read_bytes().lower() for p in data_dir.glob("audit.sqlite*")}
    assert "audit.sqlite" in stored  # the premise: the scan reads the audit database's files
    for canary in LIST_CANARIES:
        assert canary.lower() not in exported.stdout.lower(), f"{canary} in audit export"
        leaked = [name for name, data in stored.items() if canary.lower().encode() in data]
        assert not leaked, f"{canary} was written to {leaked}"
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    (call,) = [c for row in rows for c in row["tool_calls"] if c["name"] == "check_interactions"]
    assert call["arguments"]["medications"][:2] == ["amiodarone", "citalopram"]
    assert call["arguments"]["allergies"] == ["penicillin"]
