"""Persisted state: JSON-able values per scope, committed with the data they describe."""
