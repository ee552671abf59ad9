"""A TURN client from another code base: aioice (Debian's python3-aioice) allocates on the relay
over UDP or TCP, sends datagrams to an echo peer through it and waits for the echoes.
Usage: aioice_turn.py HOST PORT USERNAME PASSWORD PEER_HOST PEER_PORT udp|tcp COUNT
Prints one JSON line: {"relayed": "ip:port", "echoed": n}."""

import asyncio
import json
import sys

from aioice import turn


class Echoes(asyncio.DatagramProtocol):
    def __init__(self):
        self.received = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.received.put_nowait((data, addr))


async def main():
    host, port, username, password, peer_host, peer_port, transport, count = sys.argv[1:]
    peer = (peer_host, int(peer_port))
    relay, echoes = await turn.create_turn_endpoint(
        Echoes, server_addr=(host, int(port)), username=username, password=password, transport=transport
    )
    relayed = relay.get_extra_info("sockname")
    echoed = 0
    try:
        for n in range(int(count)):
            payload = f"datagram {n}".encode()
            relay.sendto(payload, peer)
            data, _ = await asyncio.wait_for(echoes.received.get(), 5)
            echoed += data == payload
    finally:
        relay.close()
    print(json.dumps({"relayed": f"{relayed[0]}:{relayed[1]}", "echoed": echoed}))


asyncio.run(main())
