"""The kernel: what every other part of the domain builds on, and nothing of the product.

Errors, atomic writes, YAML, paths, git (GitPython), hashing, the clock,
cancellation, the Docker client and HTTP. It imports nothing else of workbench.
"""
