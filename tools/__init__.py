"""Developer tools that build the repository's artefacts; never imported by the daemon."""
