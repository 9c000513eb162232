"""Alert channels: one module per way out (Telegram, Twilio SMS, SNS, console, webhook, the in-process feed)."""
