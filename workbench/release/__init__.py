"""Steps 4 and 5: releases (semver, manifest, git tag, image tags) and the registry."""
