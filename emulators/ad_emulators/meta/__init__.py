"""Meta Graph API emulator (HTTP) for the official facebook-business SDK. Delivery is simulated."""

from ad_emulators.meta.server import MetaCredentials, MetaGraphServer, configure_sdk
from ad_emulators.meta.store import AccountSpec

__all__ = ["AccountSpec", "MetaCredentials", "MetaGraphServer", "configure_sdk"]
