"""embedtune: fine-tune sentence-embedding models on your own pairs and prove the gain."""

from __future__ import annotations

__version__ = "0.1.0"
