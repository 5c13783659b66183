"""Throughput of writein's envelopes: seal and open, 1 KiB and 1 MiB, two recipients.

    .venv/bin/python bench/bench_crypto.py [--seconds 2]

Seal = pad + encrypt the body + sign + one X-Wing HPKE wrap per recipient.
Open = verify the signature + unwrap + check the commitment + decrypt + unpad.
MB/s counts plaintext bytes (10^6 bytes per MB).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import cryptography

from crypto import (
    Direction,
    EncryptionKeyPair,
    Envelope,
    SigningKeyPair,
    open_envelope,
    rewrap,
    seal,
)

SIZES = {"1 KiB": 1024, "1 MiB": 1024 * 1024}


def measure(action: Callable[[], object], seconds: float) -> float:
    """Operations per second: warm up once, then repeat for about ``seconds``."""
    action()
    count = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        action()
        count += 1
        elapsed = time.perf_counter() - started
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()

    relay = SigningKeyPair.generate()
    handlers = [EncryptionKeyPair.generate(), EncryptionKeyPair.generate()]
    recipients = [h.public for h in handlers]
    newcomer = EncryptionKeyPair.generate()

    def do_seal(plaintext: bytes) -> Envelope:
        return seal(
            plaintext,
            case_id="K7-QX4F",
            direction=Direction.IN,
            recipients=recipients,
            signer=relay,
        )

    def do_open(envelope: Envelope) -> bytes:
        return open_envelope(
            envelope,
            recipient=handlers[0],
            trusted_signers=[relay.public],
            expect_case_id="K7-QX4F",
            expect_direction=Direction.IN,
        ).plaintext

    print(
        f"writein crypto benchmark — Python {platform.python_version()}, "
        f"cryptography {cryptography.__version__}, {platform.machine()}, 2 recipients"
    )
    print(f"{'operation':<22}{'messages/s':>12}{'MB/s':>10}{'ms/message':>12}")
    for label, size in SIZES.items():
        plaintext = os.urandom(size)
        envelope = do_seal(plaintext)
        assert do_open(envelope) == plaintext
        for name, action in (
            ("seal", lambda p=plaintext: do_seal(p)),
            ("open", lambda e=envelope: do_open(e)),
        ):
            rate = measure(action, args.seconds)
            mb_per_s = rate * size / 1e6
            print(f"{name + ' ' + label:<22}{rate:>12.0f}{mb_per_s:>10.1f}{1000 / rate:>12.3f}")
    envelope = do_seal(os.urandom(1024))
    rate = measure(
        lambda: rewrap(
            envelope,
            recipient=handlers[0],
            new_recipients=[newcomer.public],
            trusted_signers=[relay.public],
        ),
        args.seconds,
    )
    print(f"{'rewrap (1 new wrap)':<22}{rate:>12.0f}{'':>10}{1000 / rate:>12.3f}")


if __name__ == "__main__":
    main()
