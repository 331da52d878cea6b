"""openai-migrate: move Python code from the openai 0.28 SDK to the 1.x client API."""

__version__ = "0.1.0"
