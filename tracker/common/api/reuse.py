"""Validate many inputs with one serializer instance (e.g. the 500 items of a sync batch).

Building a DRF serializer is cheap, but its first `.fields` access deep-copies every declared field
(nested serializers and list children included); for a small per-item serializer that copy costs more
than the validation itself. `reusable(SomeSerializer)` keeps one bound instance per thread and class and
re-runs validation on it with new data: the same fields, validators and errors as a fresh instance."""

from __future__ import annotations

import threading

from rest_framework import serializers

_local = threading.local()


class ReusableSerializer:
    def __init__(self, serializer_class: type[serializers.Serializer]):
        self._serializer = serializer_class(data={})
        self._serializer.fields  # noqa: B018 - binds (deep-copies) the fields once

    def validate(self, data, *, context: dict | None = None) -> dict:
        """`validated_data` for `data` (a new dict per call); raises `ValidationError` like `is_valid(True)`."""
        serializer = self._serializer
        for attr in ("_validated_data", "_errors", "_data"):
            serializer.__dict__.pop(attr, None)
        serializer.initial_data = data
        serializer._context = context or {}
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


def reusable(serializer_class: type[serializers.Serializer]) -> ReusableSerializer:
    """This thread's reusable instance of `serializer_class`."""
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    if serializer_class not in cache:
        cache[serializer_class] = ReusableSerializer(serializer_class)
    return cache[serializer_class]
