"""Hosts run the engine's services: ``local`` in one asyncio process (the embedded default); AWS has its own."""
