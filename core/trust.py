"""Who the relay trusts: keys certified by the organisation key pinned in the config.

The store is hostile until checked: the organisation public key found there must match the
pinned fingerprint, and a handler or relay key counts only with a valid certificate by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import EXIT_NOT_CERTIFIED, WriteinError
from crypto import (
    Certificate,
    CryptoError,
    EncryptionPublicKey,
    Role,
    SigningPublicKey,
    fingerprint_matches,
    verify_certificate,
)
from store import HandlerStatus, KeyPurpose, Store, StoreOperations

ORG_PUBLIC_KEY_SETTING = "org.public_key"


class TrustError(WriteinError):
    """The store's keys do not match the pinned organisation key."""

    exit_code = EXIT_NOT_CERTIFIED


@dataclass(frozen=True)
class Trust:
    org: SigningPublicKey
    relay: dict[int, Certificate]  # by key version
    handlers: dict[str, Certificate]  # active, certified handlers by name
    default_intake: tuple[str, ...]
    # A retired relay signing key signed nothing stored after this envelope seq (version →
    # seq): anything later claiming its signature was forged with a stolen old key.
    relay_last_seq: dict[int, int] = field(default_factory=dict)

    def handler_signers(self) -> list[SigningPublicKey]:
        return [c.signing_key for c in self.handlers.values()]

    def relay_signers(self) -> list[SigningPublicKey]:
        return [c.signing_key for c in self.relay.values()]

    def encryption_keys(self, names: list[str]) -> list[EncryptionPublicKey]:
        return [self.handlers[n].encryption_key for n in names if n in self.handlers]

    def intake_handlers(self) -> list[str]:
        """Who gets a new case: the default intake handlers, else every active handler."""
        return list(self.default_intake) or sorted(self.handlers)


def certified(
    raw: bytes,
    org: SigningPublicKey,
    *,
    role: Role,
    name: str | None = None,
    key_version: int | None = None,
) -> Certificate | None:
    """The certificate in a store row, if the organisation key signed it for this role and
    the row's name (or key version); None otherwise.

    The one place a row's certificate is checked: a row that fails is left out, never
    trusted, so a row written without the organisation key gives no right to anything.
    """
    try:
        cert = verify_certificate(raw, org)
    except CryptoError:
        return None
    if cert.role is not role:
        return None
    if name is not None and cert.name != name:
        return None
    if key_version is not None and cert.key_version != key_version:
        return None
    return cert


async def revoked_handler_certificates(
    store: StoreOperations, org: SigningPublicKey
) -> dict[str, Certificate]:
    """Revoked handlers' last certificates: what they signed before stays attributable."""
    found: dict[str, Certificate] = {}
    for row in await store.list_handlers(status=HandlerStatus.REVOKED):
        cert = certified(row.certificate, org, role=Role.HANDLER, name=row.name)
        if cert is not None:
            found[row.name] = cert
    return found


async def past_handler_certificates(
    store: StoreOperations, org: SigningPublicKey
) -> list[Certificate]:
    """Certificates handlers had before rotating their keys: their old replies and notes
    were signed with those keys and must stay readable (and attributed)."""
    found: list[Certificate] = []
    for row in await store.list_past_certificates():
        cert = certified(row.certificate, org, role=Role.HANDLER, name=row.name)
        if cert is not None:
            found.append(cert)
    return found


async def load_org_key(store: StoreOperations, pinned_fingerprint: str) -> SigningPublicKey:
    if not pinned_fingerprint:
        raise TrustError("trust.org_fingerprint is not set in the configuration")
    raw = await store.get_setting(ORG_PUBLIC_KEY_SETTING)
    try:
        org = SigningPublicKey.from_raw(bytes.fromhex(raw or ""))
    except (ValueError, CryptoError):
        raise TrustError("the store holds no valid organisation key; run `writein init`") from None
    if not fingerprint_matches(org, pinned_fingerprint):
        raise TrustError("the store's organisation key does not match trust.org_fingerprint")
    return org


async def load_trust(store: Store, pinned_fingerprint: str) -> Trust:
    """Read and check every certificate in the store; uncertified keys are simply left out."""
    org = await load_org_key(store, pinned_fingerprint)
    relay: dict[int, Certificate] = {}
    last_seq: dict[int, int] = {}
    for row in await store.list_relay_keys(purpose=KeyPurpose.SIGNING):
        cert = certified(row.public, org, role=Role.BOT, key_version=row.version)
        if cert is not None:
            relay[row.version] = cert
            if row.last_seq is not None:
                last_seq[row.version] = row.last_seq
    handlers: dict[str, Certificate] = {}
    default: list[str] = []
    for h in await store.list_handlers(status=HandlerStatus.ACTIVE):
        cert = certified(h.certificate, org, role=Role.HANDLER, name=h.name)
        if cert is not None:
            handlers[h.name] = cert
            if h.default_intake:
                default.append(h.name)
    return Trust(
        org=org,
        relay=relay,
        handlers=handlers,
        default_intake=tuple(sorted(default)),
        relay_last_seq=last_seq,
    )
