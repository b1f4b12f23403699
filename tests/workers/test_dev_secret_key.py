"""`partnerflow dev` (what `make run` runs) encrypts stored secrets with no setup: a key of its
own under its state directory, made once and kept, unless PARTNERFLOW_SECRET_KEY is set."""

from __future__ import annotations

import os
import stat

import pytest

from devstack.dev_server import DevConfig
from devstack.stack import use_dev_secret_key
from store.secret_box import SECRET_KEY_VARIABLE, SecretBox, SecretKeyInvalid


def test_dev_makes_a_key_once_keeps_it_and_hands_it_to_its_worker_and_api(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_KEY_VARIABLE)
    config = DevConfig(state_dir=tmp_path / ".partnerflow")
    assert use_dev_secret_key(config)
    key = config.secret_key_file.read_text().strip()
    assert len(SecretBox.parse(key).keys) == 1
    assert os.environ[SECRET_KEY_VARIABLE] == key  # what the in-process worker and API read
    assert stat.S_IMODE(config.secret_key_file.stat().st_mode) == 0o600

    monkeypatch.delenv(SECRET_KEY_VARIABLE)  # the next run
    assert use_dev_secret_key(config)
    assert os.environ[SECRET_KEY_VARIABLE] == key


def test_dev_uses_the_key_set_and_makes_none(tmp_path, secret_key):
    config = DevConfig(state_dir=tmp_path / ".partnerflow")
    assert not use_dev_secret_key(config)
    assert os.environ[SECRET_KEY_VARIABLE] == secret_key
    assert not config.secret_key_file.exists()


def test_a_damaged_key_file_is_refused_saying_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_KEY_VARIABLE)
    config = DevConfig(state_dir=tmp_path)
    config.secret_key_file.write_text("garbage\n")
    with pytest.raises(SecretKeyInvalid, match="does not hold a Fernet key: restore it"):
        use_dev_secret_key(config)
    assert SECRET_KEY_VARIABLE not in os.environ
