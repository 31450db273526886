"""Encoders: one narrow protocol, one module per backend.

``load_encoder`` picks the backend by name and imports it only then, so a
backend that is not installed fails with an install hint, not deep in a traceback.
"""

from khabar.embed.base import Encoder
from khabar.embed.factory import load_encoder

__all__ = ["Encoder", "load_encoder"]
