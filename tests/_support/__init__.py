"""What the tests share: probes, builders, stand-ins for Binance, OpenRouter, Telegram and webhooks, paths."""
