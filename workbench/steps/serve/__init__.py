"""Step 3, Serve: the hermetic image build, the hardened container and the serve test."""
