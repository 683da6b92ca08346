"""Runs the independent SCIM conformance checker `scim2-tester` against a
running Gatehouse (`/scim/v2`) and exits non-zero on any failure.

Usage: python scim_conformance.py BASE_URL TOKEN
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    client = SyncSCIMClient(http)
    client.discover()
    results = check_server(client)
    failures = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    for r in results:
        line = f"{r.status.name:8} {r.title}"
        if r.status in (Status.ERROR, Status.CRITICAL):
            line += f" - {r.reason}"
        print(line)
    print(f"{len(results)} checks, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
