"""The result of a run: the typed RunResult, result.json, its JSON Schema and the verdict."""
