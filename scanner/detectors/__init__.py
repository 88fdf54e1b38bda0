"""Detectors: find sensitive values in segments and return ``Detection`` values (masked, hashed)."""
