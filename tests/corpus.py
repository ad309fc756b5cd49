"""Small guideline corpora written by tests: every file type the loaders read, and bad files."""

from __future__ import annotations

import json
from pathlib import Path

SOURCE_TXT = """WHAT: Test guideline corpus written by the clinassist test suite.
ORIGINAL SOURCE: https://guidelines.example.org/test
LICENSE: CC0 1.0 test licence; reuse freely.
CAVEATS: Made up for tests; not clinical advice.
"""

HOT_FLASHES_MD = """---
title: Hot Flashes and Night Sweats (PDQ) - Test
url: https://guidelines.example.org/hot-flashes
lastReviewed: '2025-01-15'
license: public_domain
---

# Hot Flashes and Night Sweats (PDQ) - Test

# Hot Flashes and Night Sweats (PDQ)–Health Professional Version

## Overview

[Go to Patient Version](/patient/hot-flashes)

Hot flashes occur in approximately two-thirds of postmenopausal women with a history of breast
cancer.[[1](#cit/section_1.1),[2](#cit/section_1.2)] They are associated with night sweats in 44%
of these women.

![Figure of a hot flash](https://images.example.org/flash.png)

###### References

1. Smith J: Hot flashes after breast cancer. J Onc 4: 1-2, 2006. [[PUBMED Abstract]](http://pubmed.example/1)
2. Doe A: Night sweats. J Onc 5: 3-4, 2007.

## Primary Interventions

### Venlafaxine

Venlafaxine at a dose of 75 mg per day reduced hot flash scores by 61% compared with placebo in a
randomised trial of breast cancer survivors. Side effects included dry mouth and nausea.

### Drug Interactions

Paroxetine and fluoxetine inhibit CYP2D6 and may reduce the activity of tamoxifen. The following
agents are commonly considered:

- Venlafaxine, a serotonin–norepinephrine reuptake inhibitor with little CYP2D6 inhibition.
- Gabapentin 900 mg per day, which reduced hot flash frequency in trials.
- Clonidine, a centrally acting alpha agonist with modest benefit.

| Agent | Dose | Reduction in hot flashes |
|---|---|---|
| Venlafaxine | 75 mg/day | 61% |
| Gabapentin | 900 mg/day | 54% |
| Clonidine | 0.1 mg/day | 38% |

## Latest Updates to This Summary (01/15/2025)

Editorial changes were made to this summary.

## About This PDQ Summary

This summary is reviewed regularly by the editorial board.
"""

ASPIRIN_MD = """---
title: Aspirin for the Primary Prevention of Cardiovascular Disease - Test
url: https://guidelines.example.org/aspirin
lastReviewed: '2022-04-26'
---

# Aspirin for the Primary Prevention of Cardiovascular Disease - Test

## Recommendation

Initiating low-dose aspirin for the primary prevention of cardiovascular disease in adults aged
60 years or older is not recommended because bleeding risk outweighs the benefit.

## Bleeding Risk

Gastrointestinal bleeding and haemorrhagic stroke are the main harms of daily aspirin use.
"""

NO_HEADINGS_MD = """Smoking cessation counselling should be offered to every adult who uses tobacco.
Pharmacotherapy with varenicline or nicotine replacement increases quit rates.
"""

PLAIN_TEXT = """Colorectal Cancer Screening

Screening for colorectal cancer is recommended in adults aged 45 to 75 years. Colonoscopy every
10 years or annual faecal immunochemical testing are accepted strategies.

Follow-up After Positive Tests

A positive stool test should be followed by a timely colonoscopy.
"""

HTML = """<!doctype html>
<html><head><title>Hypertension in Adults - Test</title>
<link rel="canonical" href="https://guidelines.example.org/hypertension">
<script>var tracking = "ignore me";</script></head>
<body>
<nav>Home | About</nav>
<h1>Hypertension in Adults - Test</h1>
<h2>Diagnosis</h2>
<p>Confirm elevated office blood pressure with ambulatory or home measurement before starting
treatment.</p>
<h2>Treatment</h2>
<h3>First-line agents</h3>
<ul><li>Thiazide diuretics</li><li>ACE inhibitors or angiotensin receptor blockers</li>
<li>Calcium channel blockers</li></ul>
<table><tr><th>Stage</th><th>Systolic</th></tr><tr><td>Stage 1</td><td>130-139 mmHg</td></tr>
<tr><td>Stage 2</td><td>140 mmHg or higher</td></tr></table>
<footer>Copyright footer text</footer>
</body></html>
"""

PDF_LINES = [
    "Lung Cancer Screening",
    "Annual low-dose computed tomography is recommended for adults aged 50 to 80 years",
    "with a 20 pack-year smoking history who currently smoke or quit within 15 years.",
    "",
    "Harms of Screening",
    "False-positive results lead to invasive procedures and radiation exposure.",
]


def make_pdf(lines: list[str], title: str) -> bytes:
    """A minimal one-page PDF with real text objects (Helvetica), readable by any parser."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = (
        "BT /F1 11 Tf 14 TL 50 750 Td " + " ".join(f"({escape(line)}) '" for line in lines) + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({escape(title)}) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


JSONL_RECORDS = [
    {
        "id": "g-1",
        "title": "Screening for Intimate Partner Violence - Test",
        "archived_url": "https://guidelines.example.org/ipv",
        "date_released": "2013 Mar 19",
        "major_recommendations": (
            " Summary of Recommendations \n\nThe task force recommends that clinicians screen "
            "women of reproductive age for intimate partner violence and refer those who screen "
            "positive to intervention services. ( B recommendation ) \n\n Clinical Considerations "
            "\n\nSeveral screening instruments accurately identify intimate partner violence."
        ),
    },
    {
        "id": "g-2",
        "title": "Vitamin D Supplementation to Prevent Falls - Test",
        "major_recommendations": (
            "The task force recommends against vitamin D supplementation to prevent falls in "
            "community-dwelling adults aged 65 years or older."
        ),
    },
]


def write_corpus(root: Path, *, with_pdf: bool = True) -> Path:
    """A corpus folder with SOURCE.txt and one file of each supported type."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "SOURCE.txt").write_text(SOURCE_TXT)
    (root / "hot-flashes.md").write_text(HOT_FLASHES_MD)
    (root / "aspirin.md").write_text(ASPIRIN_MD)
    (root / "smoking.md").write_text(NO_HEADINGS_MD)
    (root / "colorectal.txt").write_text(PLAIN_TEXT)
    (root / "hypertension.html").write_text(HTML)
    (root / "records.jsonl").write_text("\n".join(json.dumps(r) for r in JSONL_RECORDS) + "\n")
    if with_pdf:
        (root / "lung.pdf").write_bytes(make_pdf(PDF_LINES, "Lung Cancer Screening - Test"))
    return root


def write_bad_files(root: Path) -> dict[str, str]:
    """Files that must be skipped, each with a word its reason must contain."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "empty.md").write_text("")
    (root / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    (root / "latin1.txt").write_bytes("Caf\xe9 guideline text\n".encode("latin-1"))
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (root / "nothing.jsonl").write_text('{"id": 1}\nnot json at all\n')
    return {
        "empty.md": "empty",
        "binary.txt": "binary",
        "latin1.txt": "UTF-8",
        "broken.pdf": "PDF",
        "image.png": "unsupported",
        "nothing.jsonl": "no line",
    }


def always_covered_model(folder: Path) -> Path:
    """The shipped coverage model with its threshold at 0: every question counts as covered.
    For tests of something else (the prompt budget, load) over the small corpus above, whose
    few documents the model was not fit for; coverage itself is tested in test_coverage.py."""
    from agent.coverage import CoverageModel

    model = CoverageModel.load()
    path = folder / "always-covered.json"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**model.as_json(), "threshold": 0.0}), encoding="utf-8")
    return path
