"""Meta Graph API emulator (HTTP) for the official facebook-business SDK. Delivery is simulated."""

from safepassage.sandbox.meta.server import MetaCredentials, MetaGraphServer, configure_sdk
from safepassage.sandbox.meta.store import AccountSpec

__all__ = ["AccountSpec", "MetaCredentials", "MetaGraphServer", "configure_sdk"]
