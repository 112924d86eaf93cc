"""The Session Manager data channel's binary frames (the emulator's copy: it never imports the operator).

src/message/clientmessage.go and messageparser.go: every field big-endian; the header length field
holds 116 (the offset of the payload length field); the message type is 32 ASCII bytes padded with
spaces; the message id is a UUID written least significant half first; the digest is the SHA-256
of the payload; the payload follows its u32 length at header length + 4.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
import uuid
from dataclasses import dataclass, field

INPUT = "input_stream_data"
OUTPUT = "output_stream_data"
ACKNOWLEDGE = "acknowledge"
CHANNEL_CLOSED = "channel_closed"
START_PUBLICATION = "start_publication"
PAUSE_PUBLICATION = "pause_publication"

# PayloadType (clientmessage.go)
OUTPUT_PAYLOAD, ERROR_PAYLOAD, SIZE_PAYLOAD = 1, 2, 3
HANDSHAKE_REQUEST, HANDSHAKE_RESPONSE, HANDSHAKE_COMPLETE = 5, 6, 7
FLAG_PAYLOAD, STDERR_PAYLOAD, EXIT_CODE_PAYLOAD = 10, 11, 12

HEADER_LENGTH = 116
_HEAD = struct.Struct(">I32sIQqQ16s32sII")  # 120 bytes: the header and the payload length
assert _HEAD.size == HEADER_LENGTH + 4


class FrameError(ValueError):
    """A frame that is not one: too short, a bad length, or a digest that does not match."""


@dataclass(frozen=True)
class Frame:
    message_type: str
    payload: bytes = b""
    payload_type: int = 0
    sequence_number: int = 0
    flags: int = 0
    schema_version: int = 1
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)


def _id_bytes(message_id: uuid.UUID) -> bytes:
    raw = message_id.bytes
    return raw[8:] + raw[:8]  # putUuid: the least significant long first


def encode(frame: Frame) -> bytes:
    head = _HEAD.pack(
        HEADER_LENGTH,
        frame.message_type.encode("ascii").ljust(32, b" "),
        frame.schema_version,
        frame.created_ms,
        frame.sequence_number,
        frame.flags,
        _id_bytes(frame.message_id),
        hashlib.sha256(frame.payload).digest(),
        frame.payload_type,
        len(frame.payload),
    )
    return head + frame.payload


def decode(data: bytes) -> Frame:
    if len(data) < _HEAD.size:
        raise FrameError(f"frame of {len(data)} bytes is shorter than the {_HEAD.size}-byte header")
    header_length, kind, schema, created, seq, flags, mid, digest, ptype, plen = _HEAD.unpack_from(data)
    if header_length != HEADER_LENGTH:
        raise FrameError(f"header length {header_length}, expected {HEADER_LENGTH}")
    payload = data[header_length + 4 :]
    if len(payload) != plen:
        raise FrameError(f"payload of {len(payload)} bytes, the header says {plen}")
    if hashlib.sha256(payload).digest() != digest:
        raise FrameError("payload digest does not match")
    message_id = uuid.UUID(bytes=mid[8:] + mid[:8])
    message_type = kind.rstrip(b" \x00").decode("ascii", "replace")
    return Frame(message_type, payload, ptype, seq, flags, schema, created, message_id)


def acknowledgement(frame: Frame) -> Frame:
    """SerializeClientMessageWithAcknowledgeContent: sequence 0, flags 3, the JSON naming what is acknowledged."""
    body = {
        "AcknowledgedMessageType": frame.message_type,
        "AcknowledgedMessageId": str(frame.message_id),
        "AcknowledgedMessageSequenceNumber": frame.sequence_number,
        "IsSequentialMessage": True,
    }
    return Frame(ACKNOWLEDGE, json.dumps(body).encode(), 0, 0, 3)
