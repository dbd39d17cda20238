"""The real parts for the demo and the tests: engine, base image, registry, the iris tour.

Nothing in `workbench.checklist.steps` or `workbench.project` imports this package: it
installs Debian packages and starts daemons, which a product never does.
"""
