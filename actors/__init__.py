"""An actor-based spot trading bot."""
