"""Sub-commands of the `safepassage` CLI.

Each module here defines `register(subparsers)`, adds its parsers and sets `handler` on them
with `parser.set_defaults(handler=...)`. Keep imports of heavy libraries inside handlers so
`safepassage --help` stays fast.
"""


class UserError(Exception):
    """A problem the person at the keyboard can fix; printed without a traceback."""
