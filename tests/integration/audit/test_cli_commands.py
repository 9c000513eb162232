"""`copytrader audit` and `copytrader follower ...` end to end: a TOML config pointing at the simulators, keys in
the environment, the master's legs in the SQLite state file, the commands run as the console script runs them."""

from __future__ import annotations

import asyncio
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from runtime.adapters.sqlite_store import SqliteStore
from runtime.cli.main import build_parser
from runtime.domain.events import Lifecycle
from runtime.domain.values import PositionIdx, Side, Venue
from runtime.ports.store import MasterSnapshot
from tests.integration.audit.conftest import Desk, Follower

pytestmark = pytest.mark.asyncio(loop_scope="module")


def write_config(home: Path, follower: Follower) -> Path:
    home.mkdir(exist_ok=True)
    path = home / "copytrader.toml"
    path.write_text(
        f"""
[master]
id = "master"

[[followers]]
id = "{follower.id}"
venue = "{follower.venue.value}"
api_key_env = "CT_TEST_KEY"
api_secret_env = "CT_TEST_SECRET"
rest_url = "{follower.base_url}"
sizing = {{ mode = "margin_ratio", margin_pct = "0.1" }}

[state]
sqlite_path = "state.db"
""",
        encoding="utf-8",
    )
    return path


async def run(*argv: str) -> tuple[int, str, str]:
    """The command as `copytrader ...` runs it (in a thread: it starts its own event loop)."""
    args = build_parser().parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(args.handler, args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def bybit_follower(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Follower, Path]:
    follower = await desk.follower(Venue.BYBIT)
    monkeypatch.setenv("CT_TEST_KEY", follower.credentials["api_key"])
    monkeypatch.setenv("CT_TEST_SECRET", follower.credentials["api_secret"])
    return follower, write_config(tmp_path / "cli", follower)


def put_master(tmp_path: Path, follower: Follower, size: str) -> None:
    with SqliteStore(tmp_path / "cli" / "state.db") as store:
        life = Lifecycle("BTCUSDT:0:1", Decimal(6000), Decimal(100000), 1)
        snapshot = MasterSnapshot(
            master_id="master",
            symbol="BTCUSDT",
            position_idx=PositionIdx.ONE_WAY,
            seq=1,
            size=Decimal(size),
            position_im=Decimal(0),
            leverage=Decimal(10),
            entry_price=Decimal(60000),
            lifecycle=life,
            updated_ms=1,
            last_activity_ms=1,
        )
        store.put_master_snapshot(snapshot)
        store.get_or_set_ratio(follower.id, life.id, Decimal("0.1"))


async def test_audit_prints_a_table_and_exits_1_on_a_discrepancy(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    follower, config = await bybit_follower(desk, tmp_path, monkeypatch)
    put_master(tmp_path, follower, "1")
    await follower.trade(Side.BUY, "0.05")

    code, out, err = await run("audit", "--config", str(config))

    assert code == 1, err
    assert "1 discrepancies" in out and "SizeMismatch" in out and follower.id in out
    with SqliteStore(tmp_path / "cli" / "state.db") as store:
        assert store.list_alerts() == []  # a report only: the engine's audit owns the alert state


async def test_audit_json_and_exit_0_when_clean(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    follower, config = await bybit_follower(desk, tmp_path, monkeypatch)
    put_master(tmp_path, follower, "1")
    await follower.trade(Side.BUY, "0.1")

    code, out, _ = await run("audit", "--config", str(config), "--json")

    assert code == 0
    payload = json.loads(out)
    assert payload["discrepancies"] == 0 and payload["legs_checked"] == 1
    assert payload["followers_audited"] == [follower.id]


async def test_audit_without_a_state_file_says_what_to_do(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = await bybit_follower(desk, tmp_path, monkeypatch)
    code, _, err = await run("audit", "--config", str(config))
    assert code == 2
    assert "no state file" in err and "state.db" in err


async def test_audit_with_a_missing_key_names_the_variable(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    follower, config = await bybit_follower(desk, tmp_path, monkeypatch)
    put_master(tmp_path, follower, "1")
    monkeypatch.delenv("CT_TEST_SECRET")
    code, _, err = await run("audit", "--config", str(config))
    assert code == 2 and "CT_TEST_SECRET" in err


async def test_follower_pause_resume_and_close_all(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    follower, config = await bybit_follower(desk, tmp_path, monkeypatch)

    code, out, _ = await run("follower", "pause", follower.id, "--config", str(config))
    assert code == 0 and "paused" in out
    with SqliteStore(tmp_path / "cli" / "state.db") as store:
        assert store.is_follower_paused(follower.id)
    code, out, _ = await run("follower", "resume", follower.id, "--config", str(config))
    assert code == 0 and "resumed" in out

    await follower.trade(Side.BUY, "0.3")
    await follower.trade(Side.SELL, "1", "ETHUSDT")
    code, out, err = await run("follower", "close-all", follower.id, "--config", str(config))

    assert code == 0, err
    assert "the follower is flat" in out and "sell 0.3 BTCUSDT" in out and "buy 1 ETHUSDT" in out
    assert await follower.client.positions() == []
    with SqliteStore(tmp_path / "cli" / "state.db") as store:
        assert store.is_follower_paused(follower.id)
        assert len(store.list_order_log(follower.id)) == 2


async def test_follower_command_with_an_unknown_id_lists_the_known_ones(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    follower, config = await bybit_follower(desk, tmp_path, monkeypatch)
    code, _, err = await run("follower", "pause", "nobody", "--config", str(config))
    assert code == 2 and "nobody" in err and follower.id in err
