"""Subcommands of the `llmscale` CLI, each registered on the app by its module's `register(app)`."""
