"""What the tests of every room build on, written once.

- ``world``: a data directory set up the way `writein init` sets it up, handlers certified
  by the organisation key (the relay's tests and the console's start from it).
- ``relay_env``: a relay in this event loop on such a world, against telesim.
- ``fixtures``: the pytest fixtures ``sim``, ``env`` and ``source`` over ``relay_env``.
- ``onboarding``: one walk of a source through onboarding, pumped or against a running relay.
- ``chat``: what the bot's messages look like in the chat.
"""
