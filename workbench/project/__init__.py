"""The model project: its manifest and the typed records of the files the workbench writes.

Also the release history (which versions exist, their manifests, files as they
were at a release's tag), semantic versions and the runner that talks to the
model's own environment. Built on the kernel only.
"""
