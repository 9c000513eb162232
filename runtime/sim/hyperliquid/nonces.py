"""Hyperliquid's nonce rules, kept per signer (the wallet or agent that signed, not the account it trades for).

The venue stores the 100 highest nonces of each signer. A new nonce must be larger than the smallest of them,
must never have been used, and must lie within (now - 2 days, now + 1 day). A refused nonce is answered with an
action-level ``{"status":"err"}``; the exact real wording is not published, so these messages say plainly which
rule failed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

KEPT_PER_SIGNER = 100
MAX_AGE_MS = 2 * 24 * 60 * 60 * 1000
MAX_AHEAD_MS = 1 * 24 * 60 * 60 * 1000


class NonceRejected(Exception):
    """The nonce breaks one of the venue's rules; the message is the venue's answer."""


@dataclass
class NonceBook:
    """The highest nonces seen per signer (lower-case address)."""

    kept_per_signer: int = KEPT_PER_SIGNER
    _seen: dict[str, list[int]] = field(default_factory=dict)

    def check(self, signer: str, nonce: int, now_ms: int) -> None:
        """Raise ``NonceRejected`` when ``nonce`` may not be used by ``signer`` now."""
        if not now_ms - MAX_AGE_MS < nonce < now_ms + MAX_AHEAD_MS:
            raise NonceRejected(
                f"Invalid nonce: nonce {nonce} is outside the accepted window (server time {now_ms} ms minus 2 days "
                "to plus 1 day); sign with the current time in milliseconds"
            )
        seen = self._seen.get(signer, [])
        index = bisect.bisect_left(seen, nonce)
        if index < len(seen) and seen[index] == nonce:
            raise NonceRejected("Invalid nonce: duplicate nonce")
        if len(seen) >= self.kept_per_signer and nonce <= seen[0]:
            raise NonceRejected(
                f"Invalid nonce: nonce {nonce} is not above the smallest of the last {self.kept_per_signer} "
                f"nonces ({seen[0]}) of signer {signer}"
            )

    def record(self, signer: str, nonce: int) -> None:
        seen = self._seen.setdefault(signer, [])
        bisect.insort(seen, nonce)
        if len(seen) > self.kept_per_signer:
            del seen[0]

    def use(self, signer: str, nonce: int, now_ms: int) -> None:
        """Check and record in one step."""
        self.check(signer, nonce, now_ms)
        self.record(signer, nonce)
