"""The demo's throw-away installation: folders, passphrases, config, keys, two case officers.

Everything is made the way an admin would make it (``admin.setup.initialise``, then
``handlers.keygen`` and ``admin.enrolment.enrol_handler``), with real Argon2id parameters; only
the passphrases are generated and written to owner-only files, so the demo needs no
prompts and the user can open the console on the result afterwards.

Layout of the demo folder::

    writein.toml          the configuration the relay and the console read
    data/                 the relay's data directory: writein.db (+ -wal, -shm), keys/
    secrets/              bot token and passphrases (0600): a demo prints them
    officers/             alice.key, bob.key: the case officers' own key files
    exported/             what alice exports (plaintext by design: her machine)
    relay.log             the relay's log
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from admin.enrolment import enrol_handler
from admin.setup import ORG_KEY_KIND, Layout, initialise
from bot.phrase import new_phrase
from core.bundle import parse_handler_bundle
from core.config import Config, load_config, parse_config
from crypto import SigningKeyPair
from handlers import keygen
from store import open_store
from store.keyfiles import read_secret_file

HANDLERS = ("alice", "bob")
INTAKE_HANDLER = "alice"

# The demo's intake questions: the example configuration's, in the three languages.
INTAKE: list[dict[str, Any]] = [
    {
        "id": "relation",
        "kind": "choice",
        "prompt": {
            "en": "How are you connected to what you want to tell us?",
            "ru": "Как вы связаны с тем, о чём хотите рассказать?",
            "uk": "Як ви пов'язані з тим, про що хочете розповісти?",
        },
        "choices": [
            {
                "id": "employee",
                "label": {"en": "I work there", "ru": "Я там работаю", "uk": "Я там працюю"},
            },
            {
                "id": "witness",
                "label": {
                    "en": "I saw or heard it",
                    "ru": "Я это видел(а) или слышал(а)",
                    "uk": "Я це бачив(-ла) або чув(-ла)",
                },
            },
            {"id": "other", "label": {"en": "Other", "ru": "Другое", "uk": "Інше"}},
        ],
    },
    {
        "id": "topic",
        "kind": "text",
        "optional": True,
        "max_chars": 500,
        "prompt": {
            "en": "In a few words, what is it about?",
            "ru": "В двух словах: о чём речь?",
            "uk": "Кількома словами: про що йдеться?",
        },
    },
]


def passphrase() -> str:
    """Five random words: easy to type into the console later, ~64 bits."""
    return "-".join(new_phrase(words=5).split())


def bot_token() -> str:
    """A token shaped like BotFather's, so the relay's log redaction treats it as one."""
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(27)[:35]}"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def _toml(value: object) -> str:
    """A TOML value: JSON's strings, numbers, booleans and arrays are TOML too; tables inline."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Officer:
    name: str
    key_file: Path
    passphrase: str
    passphrase_file: Path
    fingerprint: str
    intake: bool


@dataclass(frozen=True)
class Site:
    root: Path
    config_file: Path
    config: Config
    token: str
    admin_passphrase: str
    relay_passphrase: str
    org_fingerprint: str
    officers: dict[str, Officer]

    @property
    def layout(self) -> Layout:
        return Layout(self.config.data_dir)

    @property
    def relay_log(self) -> Path:
        return self.root / "relay.log"

    @property
    def exported(self) -> Path:
        return self.root / "exported"


def config_text(
    *, base_url: str, base_file_url: str, fingerprint: str, key_file: str = "officers/alice.key"
) -> str:
    lines = [
        "# writein demo configuration, written by `writein demo`: throw-away keys, a simulated",
        "# Telegram. Every setting is explained in config.example.toml.",
        "",
        "[paths]",
        'data_dir = "data"',
        "",
        "[telegram]",
        'token_file = "secrets/bot-token"',
        f"base_url = {_toml(base_url)}",
        f"base_file_url = {_toml(base_file_url)}",
        "poll_timeout_seconds = 10",
        "",
        "[trust]",
        f"org_fingerprint = {_toml(fingerprint)}",
        "",
        "[relay]",
        'languages = ["en", "ru", "uk"]',
        'key_passphrase_file = "secrets/relay-passphrase"',
        "",
        "[console]",
        f"key_file = {_toml(key_file)}",
        "",
    ]
    for question in INTAKE:
        lines.append("[[intake.questions]]")
        lines += [f"{key} = {_toml(value)}" for key, value in question.items()]
        lines.append("")
    return "\n".join(lines)


def _prepare(root: Path, token: str, relay_passphrase: str) -> None:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    for folder in ("officers", "exported"):
        (root / folder).mkdir(mode=0o700, exist_ok=True)
    _write_private(root / "secrets" / "bot-token", token)
    _write_private(root / "secrets" / "relay-passphrase", relay_passphrase)


async def build_site(root: Path, *, base_url: str, base_file_url: str, token: str) -> Site:
    """Set up the relay and enrol two officers under ``root`` (an empty or new folder)."""
    admin, relay = passphrase(), passphrase()
    await asyncio.to_thread(_prepare, root, token, relay)

    # `writein init` needs a config before there is a fingerprint to pin in it.
    draft = parse_config(
        {
            "paths": {"data_dir": "data"},
            "telegram": {"base_url": base_url, "base_file_url": base_file_url},
        },
        base_dir=root,
        source=root / "writein.toml",
    )
    result = await initialise(
        draft, admin_passphrase=admin.encode(), relay_passphrase=relay.encode()
    )
    config_file = root / "writein.toml"
    text = config_text(
        base_url=base_url, base_file_url=base_file_url, fingerprint=result.org_fingerprint
    )
    # Private whatever the umask: writein refuses a configuration others may change.
    await asyncio.to_thread(_write_private, config_file, text.rstrip("\n"))
    config = load_config(config_file)

    # Each officer makes their own key; the admin certifies the public bundle.
    org_seed = await asyncio.to_thread(
        read_secret_file, result.layout.org_key, admin.encode(), kind=ORG_KEY_KIND
    )
    org = SigningKeyPair.from_seed(org_seed)
    officers: dict[str, Officer] = {}
    async with await open_store(config.store_url) as store:
        for name in HANDLERS:
            secret = passphrase()
            key_file = root / "officers" / f"{name}.key"
            made = await asyncio.to_thread(keygen, name, key_file, secret.encode())
            bundle_name, enc, sig = parse_handler_bundle(made.bundle)
            await enrol_handler(
                store, org, bundle_name, enc, sig, default_intake=name == INTAKE_HANDLER
            )
            secret_file = root / "secrets" / f"{name}-passphrase"
            await asyncio.to_thread(_write_private, secret_file, secret)
            officers[name] = Officer(
                name, key_file, secret, secret_file, made.fingerprint, name == INTAKE_HANDLER
            )
    return Site(
        root=root,
        config_file=config_file,
        config=config,
        token=token,
        admin_passphrase=admin,
        relay_passphrase=relay,
        org_fingerprint=result.org_fingerprint,
        officers=officers,
    )
