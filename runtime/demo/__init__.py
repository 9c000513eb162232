"""`copytrader demo`: the simulators, the accounts, the engine, and a scenario played against them."""
