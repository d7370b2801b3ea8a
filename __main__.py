"""Pulumi entry point: load the stack config and build its tier (see llmscale/program.py)."""

from llmscale.program import main

main()
