"""An example host application that embeds tiergate (see README.md)."""
