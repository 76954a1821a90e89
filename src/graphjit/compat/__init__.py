"""Compatibility namespaces (``graphjit.compat.v1`` mirrors ``tf.compat.v1``)."""
