"""The AI consultant: DeepSeek price advice via OpenRouter, cached, timed out, with a rule-based fallback."""
