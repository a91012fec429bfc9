"""Tests of the reference auth API (authapi/ and its serve.py mount)."""
