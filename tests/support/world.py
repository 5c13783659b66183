"""A data directory set up the way `writein init` sets it up, with handlers certified.

The relay's tests (tests/support/relay_env.py, tests/bot/relay_process.py) and the
console's (tests/handlers/conftest.py) start from the same world: ``found`` runs init on a
configuration, makes the configuration again with the organisation's fingerprint and
unlocks the organisation key; ``Founded.enrol`` certifies a handler's keys with it. Each
caller keeps its own way of writing the configuration (a dict, a TOML file) and its own
handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from admin.enrolment import enrol_handler
from admin.keyring import RelayKeyRing, RelayKeys
from admin.roster import org_roster, sign
from admin.setup import ORG_KEY_KIND, Layout, initialise, publish_relay_keys
from core.config import Config
from crypto import Argon2Params, EncryptionPublicKey, SigningKeyPair, SigningPublicKey
from store import Store
from store.keyfiles import read_secret_file

ADMIN_PASS = b"admin passphrase for tests"
RELAY_PASS = b"relay passphrase for tests"
WEAK = Argon2Params.insecure_for_tests()


@dataclass(frozen=True)
class Founded:
    """What init left: the configuration (with the fingerprint), the layout, the org key."""

    config: Config
    layout: Layout
    org: SigningKeyPair

    def relay_ring(self) -> RelayKeyRing:
        return RelayKeyRing.load(self.layout.relay_key, RELAY_PASS)

    async def enrol(
        self,
        store: Store,
        name: str,
        encryption: EncryptionPublicKey,
        signing: SigningPublicKey,
        *,
        default_intake: bool = False,
        now: int | None = None,
    ) -> None:
        """Certify a handler's keys with the organisation key and record them."""
        await enrol_handler(
            store, self.org, name, encryption, signing, default_intake=default_intake, now=now
        )


async def open_case(store: Store, org: SigningKeyPair, case_id: str, names: Sequence[str]) -> None:
    """Assign an existing case to ``names`` as the signed roster does it (the organisation
    adopts the case), with the store's cache rows, as the relay and the console read it."""
    async with store.transaction() as tx:
        roster = await org_roster(tx, org.public)
        await sign(tx, roster, org, "open_case", case_id=case_id, handlers=sorted(names))
        for name in names:
            await tx.assign_handler(case_id, name)


async def roster_change(store: Store, org: SigningKeyPair, kind: str, **fields: object) -> None:
    """One statement the organisation signs into the roster (assign, leave, ...), with the
    store's assignment cache kept as the admin commands keep it."""
    async with store.transaction() as tx:
        roster = await org_roster(tx, org.public)
        await sign(tx, roster, org, kind, **fields)
        if kind == "assign":
            await tx.assign_handler(str(fields["case_id"]), str(fields["name"]))
        elif kind == "leave":
            await tx.unassign_handler(str(fields["case_id"]), str(fields["name"]))


async def retire_relay_key(
    store: Store, org: SigningKeyPair, successor: RelayKeys, *, version: int, last_seq: int
) -> None:
    """What a rotation's publish and destroy steps sign: ``successor`` certified, then key
    set ``version`` retired after envelope ``last_seq``."""
    async with store.transaction() as tx:
        await publish_relay_keys(tx, org, successor)
        roster = await org_roster(tx, org.public)
        await sign(tx, roster, org, "retire_relay_key", version=version, last_seq=last_seq)


async def found(configure: Callable[[str], Config]) -> Founded:
    """`writein init` on ``configure("")``, then ``configure(fingerprint)`` for the rest.

    ``configure`` gets the organisation's fingerprint ("" before init) and returns the
    configuration (it may write it to a file first).
    """
    result = await initialise(
        configure(""), admin_passphrase=ADMIN_PASS, relay_passphrase=RELAY_PASS, argon2=WEAK
    )
    config = configure(result.org_fingerprint)
    layout = Layout(config.data_dir)
    org = SigningKeyPair.from_seed(read_secret_file(layout.org_key, ADMIN_PASS, kind=ORG_KEY_KIND))
    return Founded(config, layout, org)
