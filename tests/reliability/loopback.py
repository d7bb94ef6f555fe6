"""Which addresses a process and its children listen on: the loopback checks' one helper."""

from __future__ import annotations

import ipaddress

import psutil


def listening_addresses(*pids: int) -> list[tuple[str, str, int]]:
    """(process name, address, port) of every listening TCP socket of `pids` and their children."""
    processes: list[psutil.Process] = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            processes += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    found = set()
    for process in processes:
        try:
            name = " ".join(process.cmdline()[:3]) or process.name()
            for connection in process.net_connections(kind="tcp"):
                if connection.status == psutil.CONN_LISTEN:
                    found.add((name, connection.laddr.ip, connection.laddr.port))
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return sorted(found)


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)  # gRPC listens on ::ffff:127.0.0.1
    return (mapped or ip).is_loopback


def not_on_loopback(addresses: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """The entries listening beyond this machine: any address, 0.0.0.0, ::, or a real interface."""
    return [entry for entry in addresses if not is_loopback(entry[1])]
