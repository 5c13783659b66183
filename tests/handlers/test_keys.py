"""The officer's key: keygen, the key file, unlocking, and certification by the organisation."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from admin.enrolment import enrol_handler, revoke_handler
from core.bundle import bundle_fingerprint, parse_handler_bundle
from handlers._errors import (
    KeyProblem,
    NotCertifiedError,
    StoreUnreachableError,
    UsageError,
    WrongPassphraseError,
)
from handlers.cli import main
from handlers.identity import HandlerIdentity, read_identity, write_identity
from handlers.keygen import keygen, passphrase_problem
from handlers.session import key_path, open_workspace, start_session, unlock_key
from tests.handlers.conftest import INSECURE, World, passphrase_of, write_config

GOOD = b"purple tractor whispers 1984"


def test_identity_round_trip(tmp_path: Path) -> None:
    identity = HandlerIdentity.generate("Анна Σ")
    write_identity(tmp_path / "k", identity, GOOD, argon2=INSECURE)
    again = read_identity(tmp_path / "k", GOOD)
    assert again.name == "Анна Σ"
    assert again.encryption.public == identity.encryption.public
    assert again.signing.public == identity.signing.public
    assert "seed" not in repr(again)


def test_keygen_writes_a_private_file_and_a_bundle_the_admin_reads(tmp_path: Path) -> None:
    out = tmp_path / "alice.key"
    result = keygen("alice", out, GOOD, argon2=INSECURE)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    name, enc, sign = parse_handler_bundle(base64.b64decode(result.bundle_b64))
    identity = read_identity(out, GOOD)
    assert (name, enc, sign) == ("alice", identity.encryption.public, identity.signing.public)
    assert result.fingerprint == bundle_fingerprint(result.bundle)
    assert len(result.fingerprint.split()) == 8
    with pytest.raises(KeyProblem, match="exists"):
        keygen("alice", out, GOOD, argon2=INSECURE)


@pytest.mark.parametrize(
    "weak",
    [
        "short",
        "aaaaaaaaaaaaaaaa",
        "abcdefghijklmnop",
        "1234567890123",
        "Password1234",
        "alicealice12",
    ],
)
def test_weak_passphrases_are_refused(weak: str) -> None:
    assert passphrase_problem(weak, name="alice") is not None


@pytest.mark.parametrize(
    "strong", ["purple tractor whispers 1984", "correct horse battery staple", "Tq8#v!2mZ@pL"]
)
def test_strong_passphrases_pass(strong: str) -> None:
    assert passphrase_problem(strong) is None


def test_keygen_refuses_a_bad_name_or_weak_passphrase(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        keygen(" alice", tmp_path / "a", GOOD, argon2=INSECURE)
    with pytest.raises(KeyProblem, match=r"repetitive|guessable|characters"):
        keygen("alice", tmp_path / "b", b"aaaaaaaaaaaaaaaa", argon2=INSECURE)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_keygen_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WRITEIN_PASSPHRASE", GOOD.decode())
    out = tmp_path / "dana.key"
    assert main(["handler", "keygen", "--name", "dana", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    bundle = base64.b64decode(printed[2])
    assert parse_handler_bundle(bundle)[0] == "dana"
    assert printed[3].endswith(bundle_fingerprint(bundle))
    assert main(["handler", "keygen", "--name", "dana", "--out", str(out)]) == 2
    assert "never overwrites" in capsys.readouterr().err


def test_keygen_command_with_passphrase_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "pass"
    secret.write_bytes(b"weak\n")
    os.chmod(secret, 0o600)
    argv = ["handler", "keygen", "--name", "eve", "--out", str(tmp_path / "e.key")]
    assert main([*argv, "--passphrase-file", str(secret)]) == 3
    assert "at least 12 characters" in capsys.readouterr().err
    os.chmod(secret, 0o644)
    assert main([*argv, "--passphrase-file", str(secret)]) == 3
    assert "chmod 600" in capsys.readouterr().err


async def test_unlock_with_the_wrong_passphrase(world: World) -> None:
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        await unlock_key(world.key_files["alice"], b"not alice's passphrase")


async def test_unlock_another_kind_of_key_file(world: World) -> None:
    with pytest.raises(KeyProblem, match="not a writein case officer key file"):
        await unlock_key(world.layout.org_key, b"admin passphrase for the tests")


async def test_a_key_the_organisation_never_certified(world: World, tmp_path: Path) -> None:
    stranger = HandlerIdentity.generate("mallory")
    workspace = await world.workspace()
    with pytest.raises(NotCertifiedError, match="not certified"):
        start_session(workspace, stranger)


async def test_a_different_key_under_a_certified_name(world: World) -> None:
    impostor = HandlerIdentity.generate("alice")
    workspace = await world.workspace()
    with pytest.raises(NotCertifiedError, match="not the one certified"):
        start_session(workspace, impostor)


async def test_a_revoked_handler_cannot_start_a_session(world: World) -> None:
    await revoke_handler(world.store, world.org, "carol", force=True)
    workspace = await world.workspace()
    identity = read_identity(world.key_files["carol"], passphrase_of("carol"))
    with pytest.raises(NotCertifiedError):
        start_session(workspace, identity)


async def test_a_certificate_from_another_organisation(world: World) -> None:
    from core.roster import RosterError
    from crypto import Role, SigningKeyPair, certify

    rogue_org = SigningKeyPair.generate()
    mallory = HandlerIdentity.generate("mallory")
    with pytest.raises(RosterError):  # the roster takes nothing the organisation did not sign
        await enrol_handler(
            world.store, rogue_org, "mallory", mallory.encryption.public, mallory.signing.public
        )
    # A row written straight into the store, with a rogue certificate, counts for nothing.
    rogue = certify(
        rogue_org,
        role=Role.HANDLER,
        name="mallory",
        encryption_key=mallory.encryption.public,
        signing_key=mallory.signing.public,
        issued=0,
        key_version=1,
    )
    await world.store.add_handler("mallory", rogue)
    workspace = await world.workspace()
    assert "mallory" not in workspace.trust.handlers
    with pytest.raises(NotCertifiedError):
        start_session(workspace, mallory)


async def test_a_store_whose_org_key_is_not_the_pinned_one(world: World) -> None:
    config = world.config.model_copy(
        update={"trust": world.config.trust.model_copy(update={"org_fingerprint": "00" * 16})}
    )
    with pytest.raises(NotCertifiedError, match="does not match"):
        await open_workspace(config)


async def test_no_store_is_never_created(tmp_path: Path) -> None:
    from core.config import load_config

    config = load_config(write_config(tmp_path, "00" * 16))
    with pytest.raises(StoreUnreachableError, match="no store at"):
        await open_workspace(config)
    assert not (tmp_path / "data").exists()


def test_key_path_from_config_or_option(world: World) -> None:
    assert key_path(world.config, None) == world.root / "alice.key"
    assert key_path(world.config, "/x/y.key") == Path("/x/y.key")
    config = world.config.model_copy(
        update={"console": world.config.console.model_copy(update={"key_file": None})}
    )
    with pytest.raises(KeyProblem, match="--key"):
        key_path(config, None)
