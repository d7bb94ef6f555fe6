"""Meta Graph API emulator (HTTP) for the official facebook-business SDK. Delivery is simulated.

The server is `ad_emulators.meta.server`; this package re-exports nothing, so importing one of its
modules never loads the others."""
