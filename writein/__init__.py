"""The `writein` command: one dispatcher over the rooms' own command modules.

The rooms, and what each may import (enforced by import-linter, see pyproject.toml):

- ``bot/``      the relay, facing Telegram; imports core, admin, store, crypto.
- ``handlers/`` the case officer's console; imports core, store, crypto.
- ``admin/``    key ring, rotation, enrolment, retention, audit; imports core, store, crypto.
- ``core/``     what relay and console share: envelope payloads, case IDs, trust and
                certificates, config, passphrase input, the source-facing catalogue.
- ``store/``    the store; imports crypto only.
- ``crypto/``   the cryptography; imports nothing of writein.
- ``demo/``     the checked walkthrough; the only room besides tests and benches that
                imports ``telesim/``, the Bot API simulator.
- ``writein/``  this dispatcher; nothing imports it.
"""
