"""`writein demo`: the whole story on the Telegram simulator, each claim checked.

- ``steps``: the walkthrough; ``site``: a throw-away relay with two officers;
- ``relay_process``: the relay as a real child process; ``scan``: the plaintext scan;
- ``photo``: the EXIF-laden photo; ``show``: the terminal presentation;
- ``cli``: `writein demo` and `writein sim`; ``screens``: the console's pictures in
  docs/screens (`make screens`).

With tests and benches, the only room that imports telesim.
"""
