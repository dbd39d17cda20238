"""Step 1, Snapshot: the model's environment, exact and minimal, pinned with hashes."""
