#!/usr/bin/env python3
"""Prints the first of COUNT consecutive TCP ports free on 127.0.0.1 (default 4), chosen at random below
Linux's ephemeral range (32768 and up), so that no outbound connection of another test holds one of them
when the services bind. Used by the script tests that start the whole stack."""
import random
import socket
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 4
for _ in range(500):
    base = random.randrange(20000, 32000 - count)
    sockets = []
    try:
        for offset in range(count):
            s = socket.socket()
            sockets.append(s)
            s.bind(("127.0.0.1", base + offset))
        print(base)
        sys.exit(0)
    except OSError:
        pass
    finally:
        for s in sockets:
            s.close()
sys.exit("free-ports: no free run of %d ports found" % count)
