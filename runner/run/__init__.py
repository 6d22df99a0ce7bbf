"""The `run` use case: from a command line to a finished drill, and its terminal view."""
