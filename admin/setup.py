"""`writein init`: a new data directory, store, organisation key and relay key ring.

Every step of setting up lives here so the admin commands (key rotation, enrolment) extend
one place. init refuses to touch an existing set-up: overwriting keys loses messages.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from admin.keyring import RelayKeyRing, RelayKeys
from admin.roster import org_roster, sign, start_roster
from core.config import Config
from core.errors import EXIT_STORE, WriteinError
from core.passphrase import ADMIN, unlocking
from core.trust import ORG_PUBLIC_KEY_SETTING
from crypto import (
    DEFAULT_ARGON2,
    Argon2Params,
    CryptoError,
    Role,
    SigningKeyPair,
    certify,
    fingerprint,
    fingerprint_matches,
    verify_certificate,
)
from store import KeyPurpose, StoreOperations, open_store, sqlite_path
from store.keyfiles import read_secret_file, write_secret_file

ORG_KEY_KIND = "org"
RELAY_CERT_NAME = "relay"


class SetupError(WriteinError):
    """The data directory is already set up, or cannot be created."""


class DataDirError(SetupError):
    """The data directory is not a folder this user owns (exit 5, like an unreachable store)."""

    exit_code = EXIT_STORE


@dataclass(frozen=True)
class Layout:
    """Where a relay's files live under its data directory."""

    data_dir: Path

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def relay_key(self) -> Path:
        return self.keys_dir / "relay.key"

    @property
    def org_key(self) -> Path:
        return self.keys_dir / "org.key"

    @property
    def inbox_keys(self) -> Path:
        """The inbox's short-lived epoch keys (ADR 0083), rewritten every few seconds."""
        return self.keys_dir / "inbox.keys"

    @property
    def roster_head(self) -> Path:
        """The last roster head the relay verified: a log cut below it is an alarm."""
        return self.data_dir / "roster.head"

    @property
    def rotation_lock(self) -> Path:
        """Held (flock) while `writein admin rotate-keys` runs: one rotation at a time."""
        return self.keys_dir / "rotation.lock"


@dataclass(frozen=True)
class InitResult:
    org_fingerprint: str
    layout: Layout


def check_data_dir(path: Path) -> None:
    """Refuse a data directory that is missing, not a folder, or another user's.

    Run as another user (root, say), a command would leave files the relay cannot open,
    and root would otherwise write anywhere: the owner is checked, not only the mode.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataDirError(
            f"the data directory {path} does not exist: check paths.data_dir, or run `writein init`"
        ) from None
    except OSError as exc:
        raise DataDirError(
            f"the data directory {path} cannot be used: {(exc.strerror or '').lower()}; "
            "check paths.data_dir"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise DataDirError(
            f"the data directory {path} is not a folder: check paths.data_dir in the configuration"
        )
    if info.st_uid != os.geteuid():
        raise DataDirError(
            f"the data directory {path} belongs to uid {info.st_uid}, not to this user "
            f"(uid {os.geteuid()}): run writein as the user that owns it (sudo -u …)"
        )


def _private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        pass  # a file in the way: check_data_dir says so
    except OSError as exc:
        raise DataDirError(
            f"cannot create the data directory {path}: {(exc.strerror or '').lower()}; "
            "check paths.data_dir"
        ) from None
    check_data_dir(path)
    os.chmod(path, 0o700)


def load_org_key(path: Path, passphrase: bytes, pinned_fingerprint: str) -> SigningKeyPair:
    """The organisation key from its file, refused unless it is the one the config pins."""
    with unlocking(ADMIN, path):
        org = SigningKeyPair.from_seed(read_secret_file(path, passphrase, kind=ORG_KEY_KIND))
    if not pinned_fingerprint:
        raise SetupError("trust.org_fingerprint is not set in the configuration")
    if not fingerprint_matches(org.public, pinned_fingerprint):
        raise SetupError(f"{path} is not the organisation key trust.org_fingerprint names")
    return org


async def publish_relay_keys(
    store: StoreOperations, org: SigningKeyPair, keys: RelayKeys, *, now: int | None = None
) -> None:
    """Certify a relay key set, record its versions in the store (public parts only) and
    sign it into the roster; call it inside a transaction.

    Publishing the same key set again changes nothing (a resumed rotation does); rows of
    this version for other keys are refused with SetupError.
    """
    cert = certify(
        org,
        role=Role.BOT,
        name=RELAY_CERT_NAME,
        encryption_key=keys.delivery.public,
        signing_key=keys.signing.public,
        issued=int(time.time()) if now is None else now,
        key_version=keys.version,
    )
    # Symmetric keys have no public part: record a short one-way id of each instead.
    rows = {
        KeyPurpose.SIGNING: cert,
        KeyPurpose.DELIVERY: cert,
        KeyPurpose.PEPPER: _secret_id(keys.pepper),
        KeyPurpose.AT_REST: _secret_id(keys.at_rest),
    }
    for purpose, public in rows.items():
        existing = await store.get_relay_key(purpose, keys.version)
        if existing is None:
            await store.add_relay_key(purpose, keys.version, public)
        elif not _same_keys(existing.public, public, org):
            raise SetupError(f"the store already holds other relay keys for version {keys.version}")
    roster = await org_roster(store, org.public)
    signed = roster.relay_certificates().get(keys.version)
    if signed is None:
        await sign(store, roster, org, "relay_key", certificate=cert.hex())
    elif signed.signing_key.raw != keys.signing.public.raw:
        raise SetupError(f"the roster already holds other relay keys for version {keys.version}")


def _same_keys(stored: bytes, fresh: bytes, org: SigningKeyPair) -> bool:
    """Whether two records of a relay key name the same keys (certificates differ in time)."""
    if stored == fresh:
        return True
    try:
        a, b = verify_certificate(stored, org.public), verify_certificate(fresh, org.public)
    except CryptoError:
        return False
    return (a.encryption_key.raw, a.signing_key.raw) == (b.encryption_key.raw, b.signing_key.raw)


def _secret_id(secret: bytes) -> bytes:
    return hashlib.sha256(b"writein secret key id\x00" + secret).digest()[:16]


async def initialise(
    config: Config,
    *,
    admin_passphrase: bytes,
    relay_passphrase: bytes,
    argon2: Argon2Params = DEFAULT_ARGON2,
) -> InitResult:
    layout = Layout(config.data_dir)
    store_path = sqlite_path(config.store_url)
    for existing in (layout.relay_key, layout.org_key, store_path):
        if existing.exists():
            raise SetupError(
                f"{existing} exists: this relay is already set up; init changes nothing"
            )
    _private_dir(layout.data_dir)
    _private_dir(layout.keys_dir)

    org = SigningKeyPair.generate()
    ring = RelayKeyRing((RelayKeys.generate(1),))
    write_secret_file(layout.org_key, org.seed, admin_passphrase, kind=ORG_KEY_KIND, params=argon2)
    write_secret_file(
        layout.relay_key, ring.to_bytes(), relay_passphrase, kind="relay", params=argon2
    )

    async with await open_store(config.store_url) as store, store.transaction() as tx:
        await tx.set_setting(ORG_PUBLIC_KEY_SETTING, org.public.raw.hex())
        await start_roster(tx, org)
        await publish_relay_keys(tx, org, ring.current)
        await tx.append_audit("admin", "init", detail="organisation key and relay keys v1")
    return InitResult(org_fingerprint=fingerprint(org.public), layout=layout)
