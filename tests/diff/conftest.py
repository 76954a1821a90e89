"""The differential tests' helpers live in ``diff_helpers`` (a uniquely named module, so
``pytest tests/ops tests/diff`` can import both directories' helpers in one session)."""
