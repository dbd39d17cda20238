"""The built-in auto checks; importing this package registers them."""

from workbench.checks import push, schema, serve, snapshot, tag

__all__ = ["push", "schema", "serve", "snapshot", "tag"]
