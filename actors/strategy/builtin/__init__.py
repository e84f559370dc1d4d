"""The built-in strategies, on the same interface as a user's: `trend` (the default) and `maker`."""
