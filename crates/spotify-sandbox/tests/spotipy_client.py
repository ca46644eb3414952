"""spotipy (from PyPI, unmodified) against the sandbox: PKCE sign-in, calls, paging,
errors and a refresh, as a third-party client makes them. Prints one JSON object."""
import json
import sys

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyPKCE

base, client_id = sys.argv[1], sys.argv[2]


class SandboxPKCE(SpotifyPKCE):
    OAUTH_AUTHORIZE_URL = base + "/authorize"
    OAUTH_TOKEN_URL = base + "/api/token"


auth = SandboxPKCE(
    client_id=client_id,
    redirect_uri="http://127.0.0.1:8765/callback",
    scope="user-read-private playlist-read-private",
    open_browser=False,
    cache_handler=MemoryCacheHandler(),
)
# The person's browser: the consent page answers with the redirect (auto-approved).
consent = requests.get(auth.get_authorize_url(), allow_redirects=False, timeout=10)
code = auth.parse_response_code(consent.headers["Location"])
auth.get_access_token(code, check_cache=False)
token = auth.cache_handler.get_cached_token()

sp = spotipy.Spotify(auth_manager=auth, retries=0, status_retries=0, requests_timeout=10)
sp.prefix = base + "/v1/"
out = {"granted": token.get("scope"), "me": sp.me()["id"]}  # spotipy asks for `me/`

page = sp.current_user_playlists(limit=2)
names = [p["name"] for p in page["items"]]
while page["next"]:
    page = sp.next(page)
    names += [p["name"] for p in page["items"]]
out["playlists"] = names
out["items"] = len(sp.playlist_items("sandboxlist0")["items"])

try:
    sp.queue()
except spotipy.SpotifyException as e:
    out["queue_error"] = [e.http_status, e.msg]

refreshed = auth.refresh_access_token(token["refresh_token"])
out["rotated"] = refreshed["refresh_token"] != token["refresh_token"]
out["me_after_refresh"] = sp.me()["id"]
print(json.dumps(out))
