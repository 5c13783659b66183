"""A data directory set up the way `writein init` sets it up, with handlers certified.

The relay's tests (tests/support/relay_env.py, tests/bot/relay_process.py) and the
console's (tests/handlers/conftest.py) start from the same world: ``found`` runs init on a
configuration, makes the configuration again with the organisation's fingerprint and
unlocks the organisation key; ``Founded.enrol`` certifies a handler's keys with it. Each
caller keeps its own way of writing the configuration (a dict, a TOML file) and its own
handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from admin.enrolment import enrol_handler
from admin.keyring import RelayKeyRing
from admin.setup import ORG_KEY_KIND, Layout, initialise
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
