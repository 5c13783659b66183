"""The console gateway (`writein gateway`): how consoles on officers' own machines reach the
store, over HTTP behind TLS or a Tor onion service (docs/decisions/0079).

- ``app``: the endpoints (JSON; ciphertext and pseudonymous metadata only);
- ``auth``: every request signed by an active officer of the verified roster (RFC 9421,
  crypto.httpsig), no replays, refusals logged without secrets;
- ``bodies``: what a console may send, checked field by field;
- ``cli``: the command, its readiness line and its clean stop.

It holds no private key. It imports core, store and crypto, never the relay, the console,
admin or the demo, and nothing but writein/ imports it (pyproject.toml, [tool.importlinter]).
"""
