"""llmscale: infrastructure as code for serving LLMs, from one GPU box to a multi-region GPU fleet."""

__version__ = "0.1.0"
