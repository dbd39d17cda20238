"""The serving runtime: the small package copied into the image.

It depends only on a few production libraries and never on the rest of the
workbench (no `workbench.*` imports, only relative ones), so it runs alone
inside the container and, for golden parity, in the model's own interpreter.
"""
