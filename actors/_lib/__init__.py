"""Helpers that are not actors and not trading logic: loops, backoff, encoding, secrets, faults."""
