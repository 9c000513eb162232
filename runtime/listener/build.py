"""Wiring of one master feed from endpoints and keys: for the composition root and the Fargate entrypoint."""

from __future__ import annotations

from dataclasses import replace

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.listener.master_feed import ChangeSink, MasterFeed, MasterFeedConfig
from runtime.listener.master_rest import MasterRest, MasterRestConfig
from runtime.listener.master_stream_config import MasterStreamConfig, StreamCredentials


def build_master_feed(
    master_id: str,
    credentials: StreamCredentials,
    sink: ChangeSink,
    *,
    runner: BlockingCallRunner,
    testnet: bool = False,
    rest_url: str | None = None,
    ws_url: str | None = None,
    feed_config: MasterFeedConfig | None = None,
    stream_config: MasterStreamConfig | None = None,
    rest_config: MasterRestConfig | None = None,
) -> MasterFeed:
    """A feed on Bybit mainnet (default), testnet, or explicit URLs (a simulator). Nothing connects until start()."""
    stream = stream_config or MasterStreamConfig.for_network(testnet=testnet, url=ws_url)
    if ws_url:
        stream = replace(stream, url=ws_url)
    rest_settings = replace(rest_config or MasterRestConfig(), testnet=testnet)
    if rest_url:
        rest_settings = replace(rest_settings, base_url=rest_url)
    rest = MasterRest.from_credentials(credentials, runner, rest_settings)
    return MasterFeed(
        feed_config or MasterFeedConfig(master_id),
        rest,
        sink,
        credentials=credentials,
        stream_config=stream,
    )
