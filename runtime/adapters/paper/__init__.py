"""Paper venues: in-process ``ExchangeClient``s over the simulator core, with the simulators' seeded latency.

``PaperVenue(Venue.BYBIT, seed=7, latency=LatencySpec(low_s=Decimal(1), high_s=Decimal(9), scale=Decimal("0.01")))``
then ``venue.open_account("alice", Decimal(10000))`` -> a ``PaperClient``. See docs/benchmarks.md.
"""

from runtime.adapters.paper.client import PaperClient, order_report
from runtime.adapters.paper.profiles import VenueProfile, profile_for
from runtime.adapters.paper.venue import CallObserver, CallRecord, PaperVenue

__all__ = [
    "CallObserver",
    "CallRecord",
    "PaperClient",
    "PaperVenue",
    "VenueProfile",
    "order_report",
    "profile_for",
]
