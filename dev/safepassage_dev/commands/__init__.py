"""`safepassage demo` and `safepassage up`, added to the product CLI through the `safepassage.commands`
entry points of this package (pyproject.toml)."""
