"""The relay: the only room that talks to Telegram (`writein bot`).

- ``run``: start-up (unlock the ring, check the token, supervise) and ``early_stop``;
- ``relay``: the supervised loops: poll, process the inbox, deliver, delete, keys, token;
- ``incoming``, ``turn``, ``conversation``, ``dialogue``: one update becomes one turn of a
  source's conversation (onboarding, intake, messages, /forget, /recover);
- ``sealing``, ``media``, ``phrase``: sealing what a source sends, cleaning attachments,
  recovery phrases; ``delivery``: replies out, deletions;
- ``telegram_io``, ``pace``, ``outgoing``, ``webhook``: talking to the Bot API within its
  limits; ``supervise``, ``offload``, ``logsafety``: staying up, keeping the loop free,
  keeping logs clean.

It never imports the console (pyproject.toml, [tool.importlinter]).
"""
