"""spotipy on Spotoken: an auth manager that takes every token from Spotoken.

    import spotipy
    from spotoken_spotipy import SpotokenAuthManager

    sp = spotipy.Spotify(auth_manager=SpotokenAuthManager())
    print(sp.me()["id"])

Each request asks Spotoken's agent (``spotoken agent``: a Unix socket, no keychain round
trip) for a token valid for at least ``min_valid`` seconds, or, with no agent running,
runs ``spotoken token --json``. It never refreshes, caches on disk or stores anything
itself: Spotoken holds the refresh token, in the keychain, and is the one refresher for
every program on the machine, so no two caches race and lose a refresh token.

Standard library only; works with any spotipy that calls ``get_access_token``.
"""

import http.client
import json
import os
import socket
import subprocess

__all__ = ["SpotokenAuthManager", "SpotokenError"]


class SpotokenError(Exception):
    """Spotoken could not give a token: its code (the README's table), what happened
    and what to do."""

    def __init__(self, code, message, fix):
        super().__init__(f"{message} Fix: {fix} [{code}]")
        self.code, self.message, self.fix = code, message, fix


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("agent", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def default_socket():
    """Where ``spotoken agent`` listens: SPOTOKEN_AGENT_SOCKET, else
    $XDG_RUNTIME_DIR/spotoken/agent.sock."""
    if os.environ.get("SPOTOKEN_AGENT_SOCKET"):
        return os.environ["SPOTOKEN_AGENT_SOCKET"]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(runtime, "spotoken", "agent.sock") if runtime else None


class SpotokenAuthManager:
    """A spotipy auth manager backed by Spotoken.

    account: the Spotoken account (needed only with several signed in).
    min_valid: seconds the token must still be valid for when handed out.
    socket_path: the agent's socket (default: where ``spotoken agent`` listens).
    spotoken: the command line, used when no agent answers.
    """

    def __init__(self, account=None, min_valid=60, socket_path=None, spotoken="spotoken", timeout=180):
        self.account = account
        self.min_valid = int(min_valid)
        self.socket_path = socket_path or default_socket()
        self.spotoken = spotoken
        self.timeout = timeout
        self.last_source = None

    def get_access_token(self, as_dict=False, check_cache=True):
        token = self._from_agent()
        if token is None:
            token = self._from_command_line()
        return token if as_dict else token["access_token"]

    def get_cached_token(self):
        return self.get_access_token(as_dict=True)

    def _from_agent(self):
        if not self.socket_path or not os.path.exists(self.socket_path):
            return None
        query = f"min_valid={self.min_valid}"
        if self.account:
            from urllib.parse import quote

            query += f"&account={quote(self.account)}"
        connection = _UnixConnection(self.socket_path, self.timeout)
        try:
            connection.request("GET", f"/v1/token?{query}")
            response = connection.getresponse()
            body = json.loads(response.read())
        except (OSError, ValueError):
            return None  # No agent there (one that stopped left its socket): go on without.
        finally:
            connection.close()
        if response.status != 200:
            error = body.get("error", {})
            raise SpotokenError(error.get("code", "unknown"), error.get("message", ""), error.get("fix", ""))
        self.last_source = "agent"
        return body

    def _from_command_line(self):
        command = [self.spotoken, "token", "--json", "--min-valid", str(self.min_valid)]
        if self.account:
            command += ["--account", self.account]
        done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout, check=False)
        if done.returncode != 0:
            # spotoken says "spotoken: MESSAGE Fix: FIX [code]".
            said = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "spotoken token failed"
            code = said.rsplit("[", 1)[-1].rstrip("]") if said.endswith("]") else "unknown"
            raise SpotokenError(code, said, "See the message above.")
        self.last_source = "command line"
        return json.loads(done.stdout)
