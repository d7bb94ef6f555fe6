"""The emulators' own tests reach this machine only (ad_emulators.testing)."""

from ad_emulators.testing import loopback_only

__all__ = ["loopback_only"]
