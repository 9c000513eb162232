"""The pure copy-math core: values, sizing, shaping, correlation. No I/O, Decimal only."""
