"""Placeholder router: filled in by the program work of issue 4."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
