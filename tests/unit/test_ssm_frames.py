"""The data channel's frames, against a vector laid out from aws/session-manager-plugin's source.

src/message/clientmessage.go gives the offsets (header length 0, message type 4..35, schema
version 36, created date 40, sequence number 48, flags 56, message id 64, payload digest 80,
payload type 112, payload length 116, payload 120); messageparser.go writes big-endian, pads the
type with spaces and puts the UUID's least significant half first. The values are those of the
plugin's own messageparser_test.go (messageId dd01e56b-..., createdDate 1503434274948, payload
"payload"). The operator's codec and the emulator's copy must both match it.
"""

from __future__ import annotations

import json
import uuid
from types import ModuleType

import pytest

from fargate_ecs_sim import ssm_frames
from fargate_operator.execs import frames

MESSAGE_ID = uuid.UUID("dd01e56b-ff48-483e-a508-b5f073f31b16")
PAYLOAD_SHA256 = bytes.fromhex("239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5")


def vector() -> bytes:
    out = bytearray(120)
    out[0:4] = (116).to_bytes(4, "big")
    out[4:36] = b"input_stream_data".ljust(32, b" ")
    out[36:40] = (1).to_bytes(4, "big")
    out[40:48] = (1503434274948).to_bytes(8, "big")
    out[48:56] = (2).to_bytes(8, "big")
    out[56:64] = (0).to_bytes(8, "big")
    out[64:80] = bytes.fromhex("a508b5f073f31b16") + bytes.fromhex("dd01e56bff48483e")
    out[80:112] = PAYLOAD_SHA256
    out[112:116] = (1).to_bytes(4, "big")
    out[116:120] = (7).to_bytes(4, "big")
    return bytes(out) + b"payload"


CODECS = pytest.mark.parametrize("codec", [frames, ssm_frames], ids=["operator", "emulator"])


@CODECS
def test_a_frame_encodes_as_the_plugin_lays_it_out(codec: ModuleType) -> None:
    frame = codec.Frame("input_stream_data", b"payload", 1, 2, 0, 1, 1503434274948, MESSAGE_ID)
    assert codec.encode(frame) == vector()


@CODECS
def test_a_frame_decodes_with_its_fields(codec: ModuleType) -> None:
    frame = codec.decode(vector())
    assert frame.message_type == "input_stream_data" and frame.message_id == MESSAGE_ID
    assert (frame.sequence_number, frame.created_ms, frame.payload_type, frame.payload) == (
        2,
        1503434274948,
        1,
        b"payload",
    )


@CODECS
def test_a_wrong_digest_or_length_is_refused(codec: ModuleType) -> None:
    bad_digest = bytearray(vector())
    bad_digest[80] ^= 1
    with pytest.raises(codec.FrameError, match="digest"):
        codec.decode(bytes(bad_digest))
    with pytest.raises(codec.FrameError, match="payload of"):
        codec.decode(vector() + b"x")
    with pytest.raises(codec.FrameError, match="shorter"):
        codec.decode(vector()[:100])


@CODECS
def test_an_acknowledgement_names_the_message_it_acknowledges(codec: ModuleType) -> None:
    """SerializeClientMessageWithAcknowledgeContent: type acknowledge, sequence 0, flags 3, JSON content."""
    ack = codec.decode(codec.encode(codec.acknowledgement(codec.decode(vector()))))
    assert (ack.message_type, ack.sequence_number, ack.flags) == ("acknowledge", 0, 3)
    assert json.loads(ack.payload) == {
        "AcknowledgedMessageType": "input_stream_data",
        "AcknowledgedMessageId": str(MESSAGE_ID),
        "AcknowledgedMessageSequenceNumber": 2,
        "IsSequentialMessage": True,
    }
