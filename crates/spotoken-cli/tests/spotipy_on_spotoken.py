"""spotipy (from PyPI, unmodified) with contrib/python's SpotokenAuthManager, against
the sandbox: a day of calls squeezed into short-lived tokens, through the agent, then
through `spotoken token --json`. Prints one JSON object."""
import json
import sys
import time

import spotipy

sys.path.insert(0, sys.argv[1])
from spotoken_spotipy import SpotokenAuthManager, SpotokenError  # noqa: E402

api, socket_path, spotoken, seconds = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])


def client(auth):
    sp = spotipy.Spotify(auth_manager=auth, retries=0, status_retries=0, requests_timeout=10)
    sp.prefix = api + "/v1/"
    return sp


out = {"calls": 0, "failures": [], "tokens": set()}
auth = SpotokenAuthManager(min_valid=1, socket_path=socket_path, spotoken=spotoken)
sp = client(auth)
until = time.monotonic() + seconds
while time.monotonic() < until:
    try:
        out["calls"] += int(sp.me()["id"] != "")
        out["tokens"].add(auth.get_access_token())
    except Exception as e:  # noqa: BLE001 - every failure is reported
        out["failures"].append(repr(e))
    time.sleep(0.1)
out["source"] = auth.last_source

# No agent: the command line answers.
fallback = SpotokenAuthManager(socket_path="/nonexistent/agent.sock", spotoken=spotoken)
out["fallback_me"] = client(fallback).me()["id"]
out["fallback_source"] = fallback.last_source
try:
    SpotokenAuthManager(account="nobody", socket_path=socket_path).get_access_token()
except SpotokenError as e:
    out["unknown_account"] = e.code
out["tokens"] = len(out["tokens"])
print(json.dumps(out))
