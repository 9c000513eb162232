"""The simulator's signature check against the vectors published with hyperliquid-python-sdk (tests/signing_test.py).

Each vector is (action, vault, nonce, mainnet?, r, s, v) signed by the SDK's test key; the simulator's own
verification path (parse the /exchange body, recover the signer) must recover that key's address for each one.
The actions are written as the JSON the SDK would post (float_to_wire / float_to_int_for_hashing already applied).
"""

from __future__ import annotations

import json
from typing import Any

import eth_account
import pytest
from hyperliquid.utils.signing import sign_agent, sign_l1_action

from runtime.sim.hyperliquid.signing import MalformedRequest, parse_signed_request, recover_signer

SDK_TEST_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
SDK_TEST_ADDRESS = eth_account.Account.from_key(SDK_TEST_KEY).address.lower()
VAULT = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"

DUMMY = {"type": "dummy", "num": 100000000000}
ORDER = {
    "type": "order",
    "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
    "grouping": "na",
}
ORDER_CLOID = {
    "type": "order",
    "orders": [
        {
            "a": 1,
            "b": True,
            "p": "100",
            "s": "100",
            "r": False,
            "t": {"limit": {"tif": "Gtc"}},
            "c": "0x00000000000000000000000000000001",
        }
    ],
    "grouping": "na",
}
TPSL_ORDER = {
    "type": "order",
    "orders": [
        {
            "a": 1,
            "b": True,
            "p": "100",
            "s": "100",
            "r": False,
            "t": {"trigger": {"isMarket": True, "triggerPx": "103", "tpsl": "sl"}},
        }
    ],
    "grouping": "na",
}
CREATE_SUB_ACCOUNT = {"type": "createSubAccount", "name": "example"}
SUB_ACCOUNT_TRANSFER = {
    "type": "subAccountTransfer",
    "subAccountUser": "0x1d9470d4b963f552e6f671a81619d395877bf409",
    "isDeposit": True,
    "usd": 10,
}
SCHEDULE_CANCEL = {"type": "scheduleCancel"}
SCHEDULE_CANCEL_AT = {"type": "scheduleCancel", "time": 123456789}

# (name, action, vault, mainnet, r, s, v) copied from the SDK repository's tests/signing_test.py; nonce 0 throughout.
VECTORS: list[tuple[str, dict[str, Any], str | None, bool, str, str, int]] = [
    ("dummy mainnet", DUMMY, None, True,
     "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
     "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8", 27),
    ("dummy testnet", DUMMY, None, False,
     "0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510",
     "0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613", 28),
    ("order mainnet", ORDER, None, True,
     "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
     "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e", 28),
    ("order testnet", ORDER, None, False,
     "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
     "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5", 27),
    ("order with cloid mainnet", ORDER_CLOID, None, True,
     "0x41ae18e8239a56cacbc5dad94d45d0b747e5da11ad564077fcac71277a946e3",
     "0x3c61f667e747404fe7eea8f90ab0e76cc12ce60270438b2058324681a00116da", 27),
    ("order with cloid testnet", ORDER_CLOID, None, False,
     "0xeba0664bed2676fc4e5a743bf89e5c7501aa6d870bdb9446e122c9466c5cd16d",
     "0x7f3e74825c9114bc59086f1eebea2928c190fdfbfde144827cb02b85bbe90988", 28),
    ("dummy with vault mainnet", DUMMY, VAULT, True,
     "0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239",
     "0x4d402be7396ce74fbba3795769cda45aec00dc3125a984f2a9f23177b190da2c", 28),
    ("dummy with vault testnet", DUMMY, VAULT, False,
     "0xe281d2fb5c6e25ca01601f878e4d69c965bb598b88fac58e475dd1f5e56c362b",
     "0x7ddad27e9a238d045c035bc606349d075d5c5cd00a6cd1da23ab5c39d4ef0f60", 27),
    ("tpsl order mainnet", TPSL_ORDER, None, True,
     "0x98343f2b5ae8e26bb2587daad3863bc70d8792b09af1841b6fdd530a2065a3f9",
     "0x6b5bb6bb0633b710aa22b721dd9dee6d083646a5f8e581a20b545be6c1feb405", 27),
    ("tpsl order testnet", TPSL_ORDER, None, False,
     "0x971c554d917c44e0e1b6cc45d8f9404f32172a9d3b3566262347d0302896a2e4",
     "0x206257b104788f80450f8e786c329daa589aa0b32ba96948201ae556d5637eac", 28),
    ("create sub-account mainnet", CREATE_SUB_ACCOUNT, None, True,
     "0x51096fe3239421d16b671e192f574ae24ae14329099b6db28e479b86cdd6caa7",
     "0xb71f7d293af92d3772572afb8b102d167a7cef7473388286bc01f52a5c5b423", 27),
    ("create sub-account testnet", CREATE_SUB_ACCOUNT, None, False,
     "0xa699e3ed5c2b89628c746d3298b5dc1cca604694c2c855da8bb8250ec8014a5b",
     "0x53f1b8153a301c72ecc655b1c315d64e1dcea3ee58921fd7507e35818fcc1584", 28),
    ("sub-account transfer mainnet", SUB_ACCOUNT_TRANSFER, None, True,
     "0x43592d7c6c7d816ece2e206f174be61249d651944932b13343f4d13f306ae602",
     "0x71a926cb5c9a7c01c3359ec4c4c34c16ff8107d610994d4de0e6430e5cc0f4c9", 28),
    ("sub-account transfer testnet", SUB_ACCOUNT_TRANSFER, None, False,
     "0xe26574013395ad55ee2f4e0575310f003c5bb3351b5425482e2969fa51543927",
     "0xefb08999196366871f919fd0e138b3a7f30ee33e678df7cfaf203e25f0a4278", 28),
    ("schedule cancel mainnet", SCHEDULE_CANCEL, None, True,
     "0x6cdfb286702f5917e76cd9b3b8bf678fcc49aec194c02a73e6d4f16891195df9",
     "0x6557ac307fa05d25b8d61f21fb8a938e703b3d9bf575f6717ba21ec61261b2a0", 27),
    ("schedule cancel testnet", SCHEDULE_CANCEL, None, False,
     "0xc75bb195c3f6a4e06b7d395acc20bbb224f6d23ccff7c6a26d327304e6efaeed",
     "0x342f8ede109a29f2c0723bd5efb9e9100e3bbb493f8fb5164ee3d385908233df", 28),
    ("schedule cancel at time mainnet", SCHEDULE_CANCEL_AT, None, True,
     "0x609cb20c737945d070716dcc696ba030e9976fcf5edad87afa7d877493109d55",
     "0x16c685d63b5c7a04512d73f183b3d7a00da5406ff1f8aad33f8ae2163bab758b", 28),
    ("schedule cancel at time testnet", SCHEDULE_CANCEL_AT, None, False,
     "0x4e4f2dbd4107c69783e251b7e1057d9f2b9d11cee213441ccfa2be63516dc5bc",
     "0x706c656b23428c8ba356d68db207e11139ede1670481a9e01ae2dfcdb0e1a678", 27),
]  # fmt: skip


def _as_received(action: dict[str, Any], vault: str | None, r: str, s: str, v: int) -> bytes:
    """The request body as it arrives on the wire (what the server parses)."""
    body = {"action": action, "nonce": 0, "signature": {"r": r, "s": s, "v": v}, "vaultAddress": vault}
    return json.dumps(body).encode()


@pytest.mark.parametrize(("name", "action", "vault", "mainnet", "r", "s", "v"), VECTORS, ids=[v[0] for v in VECTORS])
def test_published_vector_recovers_the_sdk_test_wallet(name, action, vault, mainnet, r, s, v):
    request = parse_signed_request(json.loads(_as_received(action, vault, r, s, v)))
    assert recover_signer(request, is_mainnet=mainnet) == SDK_TEST_ADDRESS


@pytest.mark.parametrize(
    ("name", "action", "vault", "mainnet", "r", "s", "v"), VECTORS[:4], ids=[v[0] for v in VECTORS[:4]]
)
def test_vector_checked_on_the_other_network_recovers_someone_else(name, action, vault, mainnet, r, s, v):
    # A simulator configured for the other source ("a" vs "b") must not accept the signature as the same wallet.
    request = parse_signed_request(json.loads(_as_received(action, vault, r, s, v)))
    assert recover_signer(request, is_mainnet=not mainnet) != SDK_TEST_ADDRESS


def test_key_order_of_the_action_is_part_of_the_signature():
    _, action, _vault, mainnet, r, s, v = VECTORS[2]
    reordered = dict(reversed(list(action.items())))
    request = parse_signed_request({"action": reordered, "nonce": 0, "signature": {"r": r, "s": s, "v": v}})
    assert recover_signer(request, is_mainnet=mainnet) != SDK_TEST_ADDRESS


def test_sdk_signature_with_expires_after_recovers_the_signer():
    wallet = eth_account.Account.create()
    action = {"type": "cancel", "cancels": [{"a": 0, "o": 42}]}
    signature = sign_l1_action(wallet, action, None, 1_700_000_000_000, 1_700_000_060_000, False)
    request = parse_signed_request(
        {"action": action, "nonce": 1_700_000_000_000, "signature": signature, "expiresAfter": 1_700_000_060_000}
    )
    assert recover_signer(request, is_mainnet=False) == wallet.address.lower()


def test_approve_agent_is_recovered_with_the_user_signed_scheme_even_without_a_name():
    wallet = eth_account.Account.create()
    agent = eth_account.Account.create()
    action = {"type": "approveAgent", "agentAddress": agent.address, "agentName": "", "nonce": 1_700_000_000_000}
    signature = sign_agent(wallet, action, False)
    del action["agentName"]  # what the SDK does when no name is given
    request = parse_signed_request(
        json.loads(json.dumps({"action": action, "nonce": 1_700_000_000_000, "signature": signature}))
    )
    assert recover_signer(request, is_mainnet=False) == wallet.address.lower()


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"action": {"type": "order"}, "nonce": "1", "signature": {"r": "0x1", "s": "0x1", "v": 27}},
        {"action": {"type": "order"}, "nonce": 1, "signature": {"r": "0x1", "s": "0x1"}},
        {"action": {"kind": "order"}, "nonce": 1, "signature": {"r": "0x1", "s": "0x1", "v": 27}},
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body):
    with pytest.raises(MalformedRequest):
        parse_signed_request(body)


def test_unrecoverable_signature_is_a_malformed_request():
    request = parse_signed_request({"action": DUMMY, "nonce": 0, "signature": {"r": "0x0", "s": "0x0", "v": 99}})
    with pytest.raises(MalformedRequest):
        recover_signer(request, is_mainnet=False)
