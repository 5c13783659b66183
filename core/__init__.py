"""What the relay (bot/) and the console (handlers/) share, and nothing that talks to Telegram.

Modules, one concept each:

- ``payload``: the formats inside envelopes (source messages, intake answers, replies,
  notes, attachment references);
- ``caseid``: pseudonymous case IDs;
- ``trust``: the organisation key and certificates; ``certified`` is the one place a
  store row's certificate is checked;
- ``bundle``: an officer's public bundle and its fingerprint;
- ``config``: the TOML configuration; ``settings``: names of shared store settings;
- ``passphrase``: reading a passphrase from a file, the environment or the terminal;
- ``i18n``, ``escape``: the source-facing wording in en/ru/uk (the console uses it for the
  header of a reply); ``untrusted``: the one way source text reaches a screen;
- ``errors``: the error root and its exit codes; ``subcommands``: the one CLI border.

It may import store/ and crypto/ only (pyproject.toml, [tool.importlinter]).
"""
