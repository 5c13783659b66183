"""writein's configuration: one TOML file, loaded into frozen, strict pydantic models.

Where the file comes from: ``--config FILE``, else ``$WRITEIN_CONFIG``, else ``./writein.toml``.
Relative paths inside it are relative to the file's own folder. Secrets (the bot token,
passphrases) never live in the TOML itself: it only names where they come from.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from core.errors import EXIT_USAGE, WriteinError

Language = Literal["en", "ru", "uk"]
ENV_CONFIG = "WRITEIN_CONFIG"
DEFAULT_CONFIG_NAME = "writein.toml"


class ConfigError(WriteinError):
    """The configuration file is missing, unreadable or invalid; the message names the key."""

    exit_code = EXIT_USAGE


class _Section(BaseModel):
    # Booleans are StrictBool: TOML has true and false, and 'no' or 1 is a mistake to name.
    model_config = ConfigDict(frozen=True, extra="forbid")


class PathsConfig(_Section):
    data_dir: Path = Path("data")


class StoreConfig(_Section):
    # Empty means the embedded default: SQLite at <data_dir>/writein.db.
    url: str = ""


class WebhookConfig(_Section):
    listen: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8443
    path: str = "/telegram"
    url: str = ""
    secret_token_file: Path | None = None


class TelegramConfig(_Section):
    token_file: Path | None = None
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout_seconds: Annotated[int, Field(ge=0, le=50)] = 30
    # How often `writein bot` tries getMe at start-up (backoff 1, 2, 4 … 30 s) before it
    # exits with 1 for the service manager to restart it: 10 is about 2.5 minutes. Once
    # running, the relay waits out an unreachable Telegram for as long as it takes.
    start_attempts: Annotated[int, Field(ge=1, le=1000)] = 10
    webhook: WebhookConfig = WebhookConfig()

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramConfig:
        if self.mode == "webhook" and not self.webhook.url:
            raise ValueError("telegram.webhook.url is required when telegram.mode = 'webhook'")
        return self


class TrustConfig(_Section):
    # The organisation key's fingerprint, as printed by `writein init`.
    org_fingerprint: str = ""


DEFAULT_REPLY_NOTICE: Mapping[Language, str] = {
    "en": "New message",
    "ru": "Новое сообщение",
    "uk": "Нове повідомлення",
}


class RelayConfig(_Section):
    languages: Annotated[tuple[Language, ...], Field(min_length=1)] = ("en", "ru", "uk")
    delete_ingested: StrictBool = True
    dialogue_timeout_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    allow_voice: StrictBool = False
    strip_image_metadata: StrictBool = True
    max_attachment_mb: Annotated[int, Field(ge=1, le=20)] = 20
    max_text_chars: Annotated[int, Field(ge=1, le=4096)] = 4096
    # A hard cap against abuse, not a pace: everything up to it is stored (decision 0074).
    rate_limit_messages: Annotated[int, Field(ge=1)] = 600
    rate_limit_window_seconds: Annotated[int, Field(ge=1)] = 3600
    recover_attempts_per_hour: Annotated[int, Field(ge=1, le=100)] = 5
    # All accounts together: each guess costs an Argon2id derivation (64 MiB, ~0.2 s).
    recover_attempts_global_per_hour: Annotated[int, Field(ge=1, le=10_000)] = 200
    # Successful recoveries of one case per UTC day (ADR 0085): a case cannot be passed
    # from account to account; the count is kept in the audit log, so a restart keeps it.
    recover_per_case_per_day: Annotated[int, Field(ge=1, le=100)] = 2
    # A new inbox key every this many seconds; an update's key is erased at most two
    # epochs after it was processed (ADR 0083: forward-secret intake, W = 2 × this).
    inbox_key_seconds: Annotated[int, Field(ge=1, le=300)] = 20
    ack: Literal["reaction", "message"] = "reaction"
    # Quiet replies (ADR 0081): a reply arrives as a silent message with this neutral text
    # and a button; its words are shown only when the source taps, for reply_read_seconds.
    quiet_replies: StrictBool = True
    reply_notice: dict[Language, Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=lambda: dict(DEFAULT_REPLY_NOTICE)
    )
    reply_read_seconds: Annotated[int, Field(ge=10, le=24 * 3600)] = 300
    # Until then the reply can be read (the notice is deleted then): under Telegram's 48 h,
    # after which a bot can no longer delete its own messages.
    reply_readable_hours: Annotated[int, Field(ge=1, le=47)] = 24
    # A file (mode 0600) holding the passphrase of the relay's key ring; else the
    # WRITEIN_RELAY_PASSPHRASE environment variable (e.g. from a systemd credential).
    key_passphrase_file: Path | None = None

    @model_validator(mode="after")
    def _notice_in_english(self) -> RelayConfig:
        if "en" not in self.reply_notice:
            raise ValueError("relay.reply_notice needs at least an English text (en)")
        return self


Prompt = dict[Language, Annotated[str, Field(min_length=1, max_length=1000)]]


class IntakeChoice(_Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
    label: Prompt

    @model_validator(mode="after")
    def _english_label(self) -> IntakeChoice:
        if "en" not in self.label:
            raise ValueError("every choice needs at least an English label (label.en)")
        return self


class IntakeQuestion(_Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
    kind: Literal["choice", "text"]
    optional: StrictBool = False
    prompt: Prompt
    choices: tuple[IntakeChoice, ...] = ()
    max_chars: Annotated[int, Field(ge=1, le=4096)] = 1000

    @model_validator(mode="after")
    def _consistent(self) -> IntakeQuestion:
        if "en" not in self.prompt:
            raise ValueError("every question needs at least an English prompt (prompt.en)")
        if self.kind == "choice" and not self.choices:
            raise ValueError("a 'choice' question needs choices")
        if self.kind == "text" and self.choices:
            raise ValueError("a 'text' question takes no choices")
        ids = [c.id for c in self.choices]
        if len(set(ids)) != len(ids):
            raise ValueError("choice ids must be unique")
        return self


class IntakeConfig(_Section):
    questions: tuple[IntakeQuestion, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> IntakeConfig:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be unique")
        return self


class ConsoleConfig(_Section):
    key_file: Path | None = None
    lock_after_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 10
    # A console gateway (ADR 0079) instead of the local store; None: the store on this box.
    url: str | None = None
    # Ring the terminal bell (no content, only the bell) when a source writes (ADR 0084).
    bell: StrictBool = False

    @field_validator("url")
    @classmethod
    def _gateway_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an https:// URL (http:// only on this machine)")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("takes no user, password, query or fragment")
        # Plain http only where no network sees it; a proxy or onion service adds TLS.
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError("plain http:// is for loopback only (127.0.0.1, ::1, localhost)")
        try:
            parts.port  # noqa: B018 (an out-of-range port raises here)
        except ValueError:
            raise ValueError("has an invalid port") from None
        return value.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OrganisationConfig(_Section):
    """Who runs this bot, and the page where sources can check it (ADR 0086)."""

    # Named in the briefing; empty: the briefing names nobody (not recommended).
    name: Annotated[str, Field(max_length=100)] = ""
    # The official page that publishes the bot's @username and the organisation key's
    # fingerprint (as hex and as /verify's words): https://, or http:// on a .onion.
    url: Annotated[str, Field(max_length=300)] = ""
    # How soon a source may expect a reply, per language ("within two working days"),
    # said after their first message; English is the fallback. Empty: not said.
    response_time: dict[Language, Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=dict
    )

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(c in value for c in "\r\n\t"):
            raise ValueError("must be one line")
        return value.strip()

    @field_validator("url")
    @classmethod
    def _official_page(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        host = parts.hostname or ""
        if parts.scheme == "http" and host.endswith(".onion"):
            return value
        if parts.scheme != "https" or not host or parts.username or parts.password:
            raise ValueError("must be an https:// URL (or http:// on a .onion address)")
        return value

    @model_validator(mode="after")
    def _response_time_in_english(self) -> OrganisationConfig:
        if self.response_time and "en" not in self.response_time:
            raise ValueError("organisation.response_time needs at least an English text (en)")
        return self


class RetentionConfig(_Section):
    # 0 keeps everything; otherwise the relay purges envelopes older than this many days.
    days: Annotated[int, Field(ge=0)] = 0


class Config(_Section):
    paths: PathsConfig = PathsConfig()
    store: StoreConfig = StoreConfig()
    telegram: TelegramConfig = TelegramConfig()
    trust: TrustConfig = TrustConfig()
    organisation: OrganisationConfig = OrganisationConfig()
    relay: RelayConfig = RelayConfig()
    intake: IntakeConfig = IntakeConfig()
    console: ConsoleConfig = ConsoleConfig()
    retention: RetentionConfig = RetentionConfig()
    # Folder of the file this came from; relative paths resolve against it.
    base_dir: Path = Field(default=Path("."), exclude=True)

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.base_dir / path)

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.paths.data_dir)

    @property
    def store_url(self) -> str:
        return self.store.url or str(self.data_dir / "writein.db")


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Pick the config file: the explicit path, then $WRITEIN_CONFIG, then ./writein.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    return Path(DEFAULT_CONFIG_NAME)


def _format_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def parse_config(data: Mapping[str, object], *, base_dir: Path, source: Path) -> Config:
    if "base_dir" in data:
        raise ConfigError(f"{source}: invalid configuration\n  base_dir: unknown key")
    try:
        return Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_format_error(source, exc)) from None


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    path = find_config_path(explicit)
    try:
        with open(path, "rb") as handle:
            _refuse_writable_by_others(path, os.fstat(handle.fileno()))
            raw = handle.read()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no configuration file (pass --config FILE or set {ENV_CONFIG})"
        ) from None
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ConfigError(f"{path}: cannot read the configuration: {reason}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, base_dir=path.resolve().parent, source=path)


def _refuse_writable_by_others(path: Path, info: os.stat_result) -> None:
    """A configuration others may change is refused: it names the keys and the store."""
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISREG(info.st_mode) and mode & 0o022:
        raise ConfigError(
            f"{path} can be changed by other users (mode {mode:04o}), who could point "
            f"writein at their own keys and store: run chmod go-w {shlex.quote(str(path))}"
        )
