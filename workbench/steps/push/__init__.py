"""Step 5, Push: a verified push to the registry, channels, promote and roll back."""
