"""TCP states through netlink sock_diag: the dump parser on built messages, and the real
kernel interface."""

import socket
import struct

import pytest

from multimonx.agent import sockdiag

HEADER = struct.Struct("=IHHII")


def _socket_message(state: int, rqueue: int, wqueue: int) -> bytes:
    body = struct.pack("=BB2x48xIII", socket.AF_INET, state, 0, rqueue, wqueue) + bytes(8)
    return HEADER.pack(HEADER.size + len(body), 20, 2, 1, 0) + body


def _control(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(HEADER.size + len(payload), kind, 2, 1, 0) + payload


def test_parse_counts_states_and_sums_queues() -> None:
    data = (
        _socket_message(1, 10, 20)  # established
        + _socket_message(1, 1, 2)
        + _socket_message(10, 0, 128)  # listen: the backlog is in the write queue
        + _socket_message(99, 5, 5)  # unknown state: ignored
    )
    counts: dict[str, int] = {}
    queues = [0, 0]
    assert sockdiag.parse_dump(data, counts, queues) is False
    assert counts == {"established": 2, "listen": 1}
    assert queues == [11, 150]
    assert sockdiag.parse_dump(_control(3, bytes(4)), counts, queues) is True


def test_a_netlink_error_is_an_os_error() -> None:
    with pytest.raises(OSError, match="refused"):
        sockdiag.parse_dump(_control(2, struct.pack("=i", -13)), {}, [0, 0])


@pytest.mark.parametrize("length", [4, 10_000])
def test_a_malformed_length_is_a_value_error(length: int) -> None:
    data = HEADER.pack(length, 20, 2, 1, 0) + bytes(64)
    with pytest.raises(ValueError, match="malformed"):
        sockdiag.parse_dump(data, {}, [0, 0])


def test_request_layout() -> None:
    request = sockdiag.build_request(socket.AF_INET6, 7)
    length, kind, flags, sequence, _ = HEADER.unpack_from(request)
    assert (length, kind, sequence) == (len(request), 20, 7)
    assert flags & 0x300 == 0x300  # a dump
    assert request[16] == socket.AF_INET6
    assert request[17] == socket.IPPROTO_TCP


def test_the_kernel_counts_a_new_listening_socket() -> None:
    before, _, _ = sockdiag.tcp_states()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(17)
        during, _, tx = sockdiag.tcp_states()
    assert during.get("listen", 0) >= before.get("listen", 0) + 1
    assert tx >= 17  # a listener's backlog counts as queued, as in node_exporter
