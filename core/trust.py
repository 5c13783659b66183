"""Who the relay and the consoles trust: what the signed roster, verified against the
organisation key pinned in the config, says.

The store is hostile until checked: the organisation public key found there must match the
pinned fingerprint, and a key or a right counts only through a verified roster entry
(ADR 0076). Store rows of officers, assignments and relay keys are a cache, never a right.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import EXIT_NOT_CERTIFIED, WriteinError
from core.roster import HeadMemory, Roster
from core.rosterlog import read_roster
from crypto import (
    Certificate,
    CryptoError,
    EncryptionPublicKey,
    Role,
    SigningPublicKey,
    fingerprint_matches,
    verify_certificate,
)
from store import StoreOperations

ORG_PUBLIC_KEY_SETTING = "org.public_key"


class TrustError(WriteinError):
    """The store's keys do not match the pinned organisation key."""

    exit_code = EXIT_NOT_CERTIFIED


@dataclass(frozen=True)
class Trust:
    """What the verified roster says now: certified keys, and who reads which case."""

    org: SigningPublicKey
    relay: dict[int, Certificate]  # by key version, retired ones included
    handlers: dict[str, Certificate]  # active, certified handlers by name
    default_intake: tuple[str, ...]
    # A retired relay signing key signed nothing stored after this envelope seq (version →
    # seq): anything later claiming its signature was forged with a stolen old key.
    relay_last_seq: dict[int, int] = field(default_factory=dict)
    roster: Roster | None = None
    revoked: dict[str, Certificate] = field(default_factory=dict)
    past: tuple[Certificate, ...] = ()

    @classmethod
    def from_roster(cls, roster: Roster) -> Trust:
        return cls(
            org=roster.org,
            relay=roster.relay_certificates(),
            handlers=roster.officers(),
            default_intake=roster.intake_list(),
            relay_last_seq=roster.relay_last_seq(),
            roster=roster,
            revoked=roster.revoked(),
            past=tuple(roster.past_certificates()),
        )

    def handler_signers(self) -> list[SigningPublicKey]:
        return [c.signing_key for c in self.handlers.values()]

    def relay_signers(self) -> list[SigningPublicKey]:
        return [c.signing_key for c in self.relay.values()]

    def encryption_keys(self, names: list[str]) -> list[EncryptionPublicKey]:
        return [self.handlers[n].encryption_key for n in names if n in self.handlers]

    def intake_handlers(self) -> list[str]:
        """Who gets a new case: the default intake handlers, else every active handler."""
        return list(self.default_intake) or sorted(self.handlers)

    def assigned(self, case_id: str) -> frozenset[str]:
        """The active officers the roster assigns to the case: the only ones who read it."""
        return frozenset() if self.roster is None else self.roster.assigned(case_id)

    def current_relay(self) -> Certificate | None:
        """The relay key in force that replies are sealed to (None: none is)."""
        return None if self.roster is None else self.roster.current_relay()

    def all_handler_certificates(self) -> list[Certificate]:
        """Every certificate an officer ever had: what they signed stays attributable."""
        return [*self.past, *self.revoked.values(), *self.handlers.values()]


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


async def load_trust(
    store: StoreOperations,
    pinned_fingerprint: str,
    *,
    previous: Trust | None = None,
    memory: HeadMemory | None = None,
) -> Trust:
    """The verified roster's view of who is trusted (ADR 0076); store rows count for nothing.

    ``previous`` is brought up to date instead of verifying the whole log again; ``memory``
    is this reader's last verified head. RosterError (an alarm) if the log does not verify.
    """
    org = await load_org_key(store, pinned_fingerprint)
    roster = await read_roster(
        store, org, previous=None if previous is None else previous.roster, memory=memory
    )
    return Trust.from_roster(roster)
