"""copytrader: a Bybit master account mirrored into Bybit, Binance USD-M and Hyperliquid followers."""
