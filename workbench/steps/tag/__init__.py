"""Step 4, Tag: a semver release with a manifest, an annotated git tag and image tags."""
