"""Placeholder router: filled in by the orders work of issue 4."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
