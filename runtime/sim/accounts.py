"""The account side of a simulated venue: accounts, marks, leverage, position mode and margin read-outs.

``MatchingEngine`` (matching.py) extends this with orders; the split keeps each module to one purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.values import ZERO, PositionMode
from runtime.sim.catalogue import Catalogue, SimInstrument
from runtime.sim.events import EventBus, PositionChange, PositionEvent, SimEvent, WalletEvent
from runtime.sim.ledger import Account, LeverageOf, PositionView, WalletView, position_view, wallet_view
from runtime.sim.model import DuplicateScope, OrderRejected, ReduceOnlyPolicy, RejectionKind


@dataclass
class EngineSettings:
    """Knobs a venue layer fixes at construction; slippage and fees can also change through /admin/faults."""

    slippage_bps: Decimal = ZERO
    taker_fee_rate: Decimal = ZERO
    maker_fee_rate: Decimal = ZERO
    default_leverage: Decimal = Decimal(10)
    reduce_only_policy: ReduceOnlyPolicy = ReduceOnlyPolicy.CAP
    duplicate_scope: DuplicateScope = DuplicateScope.ALL_ORDERS


class AccountBook:
    def __init__(self, catalogue: Catalogue, settings: EngineSettings, bus: EventBus, clock: Callable[[], int]):
        self.catalogue = catalogue
        self.settings = settings
        self.bus = bus
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self.marks: dict[str, Decimal] = {item.symbol: item.default_mark for item in catalogue}

    # ----- lookup ----------------------------------------------------------------------------------------------

    def instrument(self, symbol: str) -> SimInstrument:
        found = self.catalogue.get(symbol)
        if found is None:
            raise OrderRejected(
                RejectionKind.UNKNOWN_SYMBOL,
                f"{symbol!r} is not listed on this {self.catalogue.venue.value} simulator; "
                f"listed: {', '.join(self.catalogue.symbols())}",
                symbol=symbol,
            )
        return found

    def mark(self, symbol: str) -> Decimal:
        return self.marks[self.instrument(symbol).symbol]

    def create_account(
        self, name: str, balance: Decimal, position_mode: PositionMode = PositionMode.ONE_WAY
    ) -> Account:
        if not name:
            raise ValueError("an account needs a non-empty name")
        if name in self.accounts:
            raise ValueError(f"account {name!r} already exists; pick another name or reset the simulator")
        if balance < 0:
            raise ValueError(f"balance must be >= 0, got {balance}")
        account = Account(name=name, wallet=balance, position_mode=position_mode)
        self.accounts[name] = account
        return account

    def account(self, name: str) -> Account:
        found = self.accounts.get(name)
        if found is None:
            raise OrderRejected(RejectionKind.UNKNOWN_ACCOUNT, f"no account named {name!r}", account=name)
        return found

    def reset(self) -> None:
        """Forget every account and put the marks back to their defaults (ids keep counting up)."""
        self.accounts.clear()
        self.marks = {item.symbol: item.default_mark for item in self.catalogue}

    # ----- leverage and mode -----------------------------------------------------------------------------------

    def leverage(self, account: str, symbol: str) -> Decimal:
        acct = self.account(account)
        return self._leverage_of(acct)(symbol)

    def _leverage_of(self, acct: Account) -> LeverageOf:
        def leverage_of(symbol: str) -> Decimal:
            chosen = acct.leverage.get(symbol)
            if chosen is not None:
                return chosen
            return min(self.settings.default_leverage, self.instrument(symbol).rules.max_leverage)

        return leverage_of

    def set_leverage(self, account: str, symbol: str, leverage: Decimal) -> bool:
        """Set the symbol's leverage; False when it already was that ("not modified" on most venues)."""
        acct = self.account(account)
        max_leverage = self.instrument(symbol).rules.max_leverage
        if not Decimal(1) <= leverage <= max_leverage:
            raise OrderRejected(
                RejectionKind.LEVERAGE_OUT_OF_RANGE,
                f"leverage {leverage} for {symbol} must be between 1 and {max_leverage}",
                leverage=leverage,
                max_leverage=max_leverage,
            )
        if self.leverage(account, symbol) == leverage:
            return False
        previous = acct.leverage.get(symbol)
        acct.leverage[symbol] = leverage
        wallet = self.wallet(account)
        if wallet.available < 0:
            # Lower leverage raises IM; the venue refuses a change the account cannot carry.
            if previous is None:
                del acct.leverage[symbol]
            else:
                acct.leverage[symbol] = previous
            raise OrderRejected(
                RejectionKind.INSUFFICIENT_MARGIN,
                f"leverage {leverage} would need more margin than is available",
                leverage=leverage,
                available=self.wallet(account).available,
            )
        events: list[SimEvent] = [
            PositionEvent(acct.name, self.position_view(account, symbol, idx), PositionChange.LEVERAGE)
            for idx in acct.valid_indexes()
        ]
        events.append(WalletEvent(acct.name, wallet))
        self.bus.publish(tuple(events))
        return True

    def set_position_mode(self, account: str, mode: PositionMode) -> bool:
        """Switch one-way/hedge; False when unchanged. Refused while positions or orders are open."""
        acct = self.account(account)
        if acct.position_mode is mode:
            return False
        if acct.open_positions():
            raise OrderRejected(
                RejectionKind.MODE_CHANGE_WITH_POSITION,
                "close every position before switching the position mode",
                position_mode=acct.position_mode.value,
            )
        if acct.open_orders():
            raise OrderRejected(
                RejectionKind.MODE_CHANGE_WITH_ORDERS,
                "cancel every open order before switching the position mode",
                position_mode=acct.position_mode.value,
            )
        acct.position_mode = mode
        return True

    # ----- read-outs -------------------------------------------------------------------------------------------

    def wallet(self, account: str) -> WalletView:
        acct = self.account(account)
        return wallet_view(acct, self._leverage_of(acct), self.mark)

    def position_view(self, account: str, symbol: str, position_idx: int) -> PositionView:
        acct = self.account(account)
        return position_view(acct.position(symbol, position_idx), self.leverage(account, symbol), self.mark(symbol))

    def positions(self, account: str, symbol: str | None = None) -> list[PositionView]:
        """The account's non-flat legs (optionally of one symbol), in the order they were first opened."""
        acct = self.account(account)
        return [
            self.position_view(account, pos.symbol, pos.position_idx)
            for pos in acct.open_positions()
            if symbol is None or pos.symbol == symbol
        ]
