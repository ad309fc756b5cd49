"""A hostile guideline corpus (issue 17, findings 1 and 5): a Markdown guideline, a JSONL record
and an HTML page that carry overlays, forms, media, `javascript:`/`data:` links and
entity-encoded tags in their bodies, titles and metadata. Each fetches only from a closed
loopback port (`BAIT`), so a fetch fails quietly wherever one slips through."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.service import Service
    from knowledge.embedding import Embedder

BAIT = "http://127.0.0.1:9"
OVERLAY = "URGENT: the warfarin dose is now 500 mg"
OVERLAY_STYLE = (
    "position:fixed;top:0;left:0;width:100vw;height:100vh;z-index:99999;background:#dc2626"
)

MARKDOWN = f"""---
title: 'Warfarin <img src="{BAIT}/fm-title.png"> maintenance <b style="position:fixed">dosing</b>'
url: "javascript:alert(1)"
license: '<a href="javascript:alert(2)">CC0</a> hostile test licence'
---
# Warfarin maintenance dosing

## Warfarin <i style="position:absolute">maintenance</i> dose

Warfarin maintenance dosing for atrial fibrillation is adjusted to keep the INR between 2.0 and
3.0, and the weekly warfarin dose changes by 10 to 15 percent at a time.
<b style="{OVERLAY_STYLE}">{OVERLAY}</b>

<form action="{BAIT}/steal"><input type="password" name="pw"><button>Sign in</button></form>

<img src="{BAIT}/body.png"> <video src="{BAIT}/clip.mp4" autoplay></video>
<audio src="{BAIT}/a.mp3" autoplay></audio> <iframe src="{BAIT}/frame"></iframe>
<object data="{BAIT}/o"></object> <embed src="{BAIT}/e"> <link rel="stylesheet" href="{BAIT}/s.css">

The warfarin dose note &lt;script&gt;alert(3)&lt;/script&gt; and
&lt;img src=x onerror=alert(4)&gt; are entity-encoded tags in warfarin maintenance text.

Warfarin links [open the warfarin calculator](javascript:alert(5)) and
![warfarin pixel]({BAIT}/md.png) are not kept.

- Check the INR weekly <span style="position:absolute;top:0">while starting warfarin</span>
- Then check the INR monthly once the warfarin dose is stable

| INR | Warfarin action |
| --- | --- |
| below 2.0 | increase the weekly warfarin dose <iframe src="{BAIT}/cell"></iframe> |
| above 3.0 | reduce the weekly warfarin dose |
"""

JSONL_RECORDS = [
    {
        "id": "warfarin-bridging",
        "title": f'Warfarin bridging <img src="{BAIT}/jsonl-title.png"> summary',
        "url": "data:text/html,<script>alert(6)</script>",
        "source_url": "vbscript:msgbox(7)",
        "text": (
            "Warfarin bridging with heparin is not needed for most patients with atrial "
            f'fibrillation. <b style="{OVERLAY_STYLE}">Stop warfarin now</b> '
            f'<form><input type="password"></form> <img src="{BAIT}/jsonl-body.png">'
        ),
    },
    {
        "id": "warfarin-reversal",
        "title": "Warfarin &lt;img src=x onerror=alert(8)&gt; reversal",
        "url": " JavaScript:alert(9)",
        "text": "Warfarin reversal uses vitamin K and prothrombin complex concentrate.",
    },
]

HTML = f"""<!doctype html>
<html><head>
<title>Warfarin &lt;img src=x onerror=alert(10)&gt; monitoring</title>
<link rel="canonical" href="javascript:alert(11)">
</head><body>
<h1>Warfarin monitoring</h1>
<h2>Warfarin &lt;b style="position:fixed"&gt;INR&lt;/b&gt; checks</h2>
<p>Warfarin INR checks &lt;b style="{OVERLAY_STYLE}"&gt;{OVERLAY}&lt;/b&gt; happen weekly
while the warfarin dose changes, and monthly once the INR is stable.</p>
<p><video src="{BAIT}/html-clip.mp4" autoplay></video>Warfarin monitoring continues.</p>
<ul><li>Warfarin INR target 2.0 to 3.0 &lt;form&gt;&lt;input type=password&gt;</li></ul>
</body></html>
"""

# A tag as a browser (or a Markdown renderer passing HTML through) would read it.
LIVE_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?]")
BAD_SCHEMES = re.compile(r"^\s*(?:javascript|data|vbscript|file):", re.I)


def write_hostile_corpus(folder: Path) -> Path:
    """The hostile corpus, with its SOURCE.txt, in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SOURCE.txt").write_text(
        "ORIGINAL SOURCE: https://guidelines.example.org/hostile\n"
        "LICENSE: CC0 hostile test licence\n",
        encoding="utf-8",
    )
    (folder / "warfarin-dosing.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "warfarin.jsonl").write_text(
        "".join(json.dumps(record) + "\n" for record in JSONL_RECORDS), encoding="utf-8"
    )
    (folder / "warfarin-monitoring.html").write_text(HTML, encoding="utf-8")
    return folder


def live_markup(text: str | None) -> list[str]:
    """The tags in `text` a page would render as elements (none expected)."""
    return LIVE_TAG.findall(text or "")


def hostile_service(root: Path, embedder: Embedder) -> Service:
    """The hostile corpus ingested under `root` through the real loaders, chunker and store,
    behind a service that quotes (no engine) and judges every question covered; close it."""
    from agent.service import Service
    from agent.settings import Settings
    from knowledge.ingest import ingest
    from knowledge.knowledge_base import KnowledgeBase
    from tests.corpus import always_covered_model

    data_dir = root / "data"
    kb = KnowledgeBase(data_dir=data_dir, embedder=embedder)
    ingest(kb, [write_hostile_corpus(root / "hostile-guides")])
    settings = Settings(
        data_dir=data_dir,
        corpus_dirs=[],
        answer_mode="extractive",
        coverage_model=always_covered_model(root / "coverage"),
    )
    return Service(settings, kb)
