"""`partnerflow secrets ...`: the key that encrypts providers' SMTP passwords and webhook
signing secrets in the program database (PARTNERFLOW_SECRET_KEY), and its rotation."""

from __future__ import annotations

import typer

from cli.support import console, errors, program_database
from services.delivery import reencrypt_secrets
from store.secret_box import SECRET_KEY_VARIABLE, new_key

secrets_app = typer.Typer(
    help=f"The key that encrypts stored secrets ({SECRET_KEY_VARIABLE}), and its rotation.",
    no_args_is_help=True,
)


@secrets_app.command("new-key")
def secrets_new_key() -> None:
    """Print a fresh key, alone on standard output, e.g.
    `export PARTNERFLOW_SECRET_KEY=$(partnerflow secrets new-key)`.

    To rotate: put the new key first and keep the old ones after it, comma-separated
    ("new,old"), run `partnerflow secrets reencrypt`, then drop the old keys.
    """
    print(new_key())
    errors.print(
        f"[dim]Keep it safe: without it the stored secrets cannot be read. Give the API, the "
        f"worker and the CLI the same {SECRET_KEY_VARIABLE}.[/]",
        highlight=False,
        soft_wrap=True,
    )


@secrets_app.command("reencrypt")
def secrets_reencrypt() -> None:
    """Encrypt every stored secret with the first key of PARTNERFLOW_SECRET_KEY: secrets under
    an older key (one after the first) and plain-text ones from before encryption.

    All or nothing: a secret that no key decrypts stops it, named, and nothing changes.
    Safe to run again. Afterwards the keys after the first can be dropped.
    """
    with program_database() as session:
        done = reencrypt_secrets(session)
    console.print(
        f"Encrypted {done.encrypted} plain-text secret(s), re-encrypted {done.reencrypted} "
        f"under an older key, {done.current} already under the first key.",
        highlight=False,
        soft_wrap=True,
    )
    if done.encrypted or done.reencrypted or done.current:
        console.print(
            f"Every stored secret is now under the first key of {SECRET_KEY_VARIABLE}: the "
            "keys after it can be dropped.",
            highlight=False,
            soft_wrap=True,
        )
