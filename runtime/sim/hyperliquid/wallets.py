"""Who may sign for which Hyperliquid account: user wallets and the agent (API) wallets they approved.

On Hyperliquid an account *is* its wallet address. A request never names the account it acts for: the venue
recovers the signer and, when the signer is an approved agent, acts for the agent's owner. An agent wallet can
trade but cannot withdraw or move funds; only the main wallet's key can. That is why the engine must refuse a
main-wallet key at start-up and expect an agent key with the account address beside it.

Agents are replaced by name, as on the venue: approving a new agent under a name already in use (or a second
unnamed agent) revokes the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import eth_account

AGENT_VALIDITY_MS = 180 * 24 * 60 * 60 * 1000
DEFAULT_AGENT_NAME = "sim"


@dataclass(frozen=True)
class Wallet:
    """A generated key pair (address lower-case, key as 0x + 64 hex)."""

    address: str
    private_key: str

    @staticmethod
    def generate() -> Wallet:
        account = eth_account.Account.create()
        return Wallet(address=account.address.lower(), private_key="0x" + bytes(account.key).hex())

    @staticmethod
    def from_key(private_key: str) -> Wallet:
        account = eth_account.Account.from_key(private_key)
        return Wallet(address=account.address.lower(), private_key="0x" + bytes(account.key).hex())


@dataclass(frozen=True)
class Agent:
    address: str
    owner: str
    name: str
    valid_until_ms: int


@dataclass(frozen=True)
class Signer:
    """The account an authorised signer acts for, and whether the signer is that account's own wallet."""

    account_address: str
    signer_address: str
    is_agent: bool


@dataclass
class WalletRegistry:
    """User wallets (address -> ledger account name) and their agents (agent address -> Agent)."""

    _users: dict[str, str] = field(default_factory=dict)
    _addresses: dict[str, str] = field(default_factory=dict)  # account name -> user address
    _agents: dict[str, Agent] = field(default_factory=dict)

    def add_user(self, address: str, account_name: str) -> None:
        address = address.lower()
        if address in self._users or address in self._agents:
            raise ValueError(f"wallet {address} is already registered")
        self._users[address] = account_name
        self._addresses[account_name] = address

    def account_name(self, user_address: str) -> str | None:
        return self._users.get(user_address.lower())

    def address_of(self, account_name: str) -> str | None:
        return self._addresses.get(account_name)

    def approve_agent(self, owner: str, agent_address: str, name: str, now_ms: int) -> Agent:
        owner, agent_address = owner.lower(), agent_address.lower()
        if owner not in self._users:
            raise ValueError(f"unknown user {owner}")
        if agent_address in self._users:
            raise ValueError(f"{agent_address} is a user wallet and cannot become an agent")
        for existing in list(self._agents.values()):
            if existing.owner == owner and existing.name == name:
                del self._agents[existing.address]
        agent = Agent(agent_address, owner, name, now_ms + AGENT_VALIDITY_MS)
        self._agents[agent_address] = agent
        return agent

    def agents_of(self, owner: str) -> list[Agent]:
        owner = owner.lower()
        return [agent for agent in self._agents.values() if agent.owner == owner]

    def resolve(self, signer_address: str, now_ms: int) -> Signer | None:
        """The account ``signer_address`` may act for, or None when the venue does not know the signer."""
        signer_address = signer_address.lower()
        if signer_address in self._users:
            return Signer(signer_address, signer_address, is_agent=False)
        agent = self._agents.get(signer_address)
        if agent is None or agent.valid_until_ms <= now_ms:
            return None
        return Signer(agent.owner, signer_address, is_agent=True)

    def role(self, address: str) -> str:
        """The ``userRole`` answer: "user", "agent" or "missing"."""
        address = address.lower()
        if address in self._users:
            return "user"
        if address in self._agents:
            return "agent"
        return "missing"

    def owner_of_agent(self, address: str) -> str | None:
        agent = self._agents.get(address.lower())
        return agent.owner if agent is not None else None
