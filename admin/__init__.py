"""Running the relay's keys and its store: what admins do, on the relay's host.

- ``setup``: `writein init` (store, organisation key, relay keys) and the data layout;
- ``keyring``: the relay's key ring (at-rest keys, signing and encryption keys, the
  lookup-pepper chain); ``refs``: what the ring seals (chat and message references,
  inbox updates, dialogue state);
- ``rotation``: online, resumable relay key rotation;
- ``enrolment``: certifying, renewing and revoking officers; the bot token;
- ``retention``: what is purged when, and the relay's retention step;
- ``cli``: `writein init` and `writein admin …`.

The relay imports the key ring and the retention step from here; admin/ itself never
imports the relay, the console or the demo (pyproject.toml, [tool.importlinter]).
"""
