"""A small MAST look-alike on 127.0.0.1 for driving the real astroquery client offline.

It answers the three endpoints astroquery's ``Observations`` uses, in MAST's own formats:

- ``POST /portal/Mashup/Mashup.asmx/columnsconfig``: the column configuration astroquery
  ships as a recorded response (``astroquery/mast/tests/data/columnsconfig.json``);
- ``POST /api/v0/invoke`` (``request=<Mashup JSON>``): ``Mast.Caom.Filtered`` (observations
  whose ``obs_id`` matches the filter) and ``Mast.Caom.Products`` (products of the
  requested ``obsid`` values), from ``tests/data/mast/*.json`` (MAST's field layout);
- ``POST /api/v0/invoke`` ``Mast.Catalogs.GaiaDR3.Cone`` (astroquery's ``Catalogs``):
  the rows of ``gaia`` (a table with the Gaia archive's ``gaia_source`` columns, e.g. the
  synthetic generator's ``gaia.ecsv``) within the cone, with MAST's ``distance``
  (arcmin), as MAST's JSON (``fields`` with types, ``data`` rows, ``paging``); no rows
  without ``gaia``; its column configuration is empty;
- ``HEAD``/``GET /api/v0.1/Download/file?uri=mast:HST/product/<name>``: file bytes, with
  scripted faults per file: ``truncate`` (promise the full length, send half, close),
  ``drop`` (close without answering), ``503``, ``corrupt`` (same size, flipped bytes).

Every request is counted in :attr:`MastServer.log`. Only loopback is used.
"""
from __future__ import annotations

import importlib.util
import json
import math
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np

DATA = Path(__file__).parent / "data" / "mast"
ASTROQUERY_DATA = Path(importlib.util.find_spec("astroquery").submodule_search_locations[0]
                       ) / "mast" / "tests" / "data"


def _response(rows: list[dict], fields: list[dict]) -> bytes:
    n = len(rows)
    return json.dumps({"status": "COMPLETE", "msg": "", "fields": fields, "data": rows,
                       "paging": {"page": 1, "pageSize": n, "pagesFiltered": 1, "rows": n,
                                  "rowsFiltered": n, "rowsTotal": n}}).encode()


class MastServer:
    """Serve ``files`` (name -> bytes) and the recorded query responses on loopback.

    ``faults`` maps a file name to a list of faults applied to successive GETs of it
    (``None`` entries: serve normally). Product sizes in the product list are those of
    the served files unless ``reported_sizes`` overrides them.
    """

    def __init__(self, files: dict[str, bytes], *, faults: dict[str, list] | None = None,
                 reported_sizes: dict[str, int] | None = None,
                 observations: str = "ngc104_observations.json",
                 products: str = "ngc104_products.json", query_faults: list | None = None,
                 gaia=None):
        self.files = dict(files)
        self.gaia = gaia  # astropy Table of Gaia sources, or None
        self.query_faults = list(query_faults or [])  # HTTP status per successive POST
        self.faults = defaultdict(list, {k: list(v) for k, v in (faults or {}).items()})
        self.reported_sizes = dict(reported_sizes or {})
        self.observations = json.loads((DATA / observations).read_text())
        self.products = json.loads((DATA / products).read_text())
        self.colconfig = (ASTROQUERY_DATA / "columnsconfig.json").read_bytes()
        self.log: list[tuple[str, str]] = []  # (method, what)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "MastServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def downloads(self, name: str | None = None) -> list[str]:
        """The GET requests for files (optionally of one file)."""
        return [w for m, w in self.log if m == "GET" and (name is None or w == name)]

    # ------------------------------------------------------------------ responses
    def _invoke(self, body: str) -> bytes:
        request = json.loads(unquote(parse_qs(body)["request"][0]))
        service, params = request["service"], request["params"]
        if service == "Mast.Caom.Filtered":
            wanted = set()
            for f in params["filters"]:
                if f["paramName"] == "obs_id":
                    wanted |= {str(v).upper() for v in f["values"]}
            rows = [r for r in self.observations["data"] if r["obs_id"] in wanted]
            return _response(rows, self.observations["fields"])
        if service == "Mast.Caom.Products":
            obsids = {s.strip() for s in str(params["obsid"]).split(",")}
            rows = []
            for r in self.products["data"]:
                if str(r["obsID"]) in obsids:
                    name = r["productFilename"]
                    size = self.reported_sizes.get(
                        name, len(self.files[name]) if name in self.files else r["size"])
                    rows.append({**r, "size": size})
            return _response(rows, self.products["fields"])
        if service == "Mast.Catalogs.GaiaDR3.Cone":
            return self._cone(params)
        raise AssertionError(f"unexpected MAST service {service}")

    def _cone(self, params: dict) -> bytes:
        """Gaia rows within ``radius`` deg of ``ra, dec``, as MAST's JSON (none without
        ``gaia``: a field where the catalog has no star)."""
        t = self.gaia
        if t is None:
            names = ("source_id", "ra", "dec", "pmra", "pmdec", "ruwe")
            return _response([], [{"name": n, "type": "float"} for n in names])
        ra0, dec0 = math.radians(params["ra"]), math.radians(params["dec"])
        ra, dec = np.radians(np.asarray(t["ra"], float)), np.radians(np.asarray(t["dec"], float))
        cos_d = (np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) * np.cos(ra - ra0))
        dist = np.degrees(np.arccos(np.clip(cos_d, -1, 1)))
        inside = np.flatnonzero(dist <= float(params["radius"]))
        names = [c for c in t.colnames if c != "star_id"]
        fields = [{"name": n, "type": "long" if t[n].dtype.kind in "iu" else "float"}
                  for n in names] + [{"name": "distance", "type": "float"}]
        rows = []
        for i in inside:
            row = {}
            for n in names:
                v = t[n][i]
                v = int(v) if t[n].dtype.kind in "iu" else float(v)
                row[n] = None if isinstance(v, float) and not math.isfinite(v) else v
            row["distance"] = float(dist[i] * 60.0)
            rows.append(row)
        return _response(rows, fields)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, code: int, body: bytes, ctype="application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                with server._lock:
                    fault = server.query_faults.pop(0) if server.query_faults else None
                if fault is not None:
                    with server._lock:
                        server.log.append(("POST", f"refused {fault}"))
                    return self._send(int(fault), b"refused", "text/plain")
                if self.path.endswith("/columnsconfig"):
                    with server._lock:
                        server.log.append(("POST", "columnsconfig"))
                    if "Mast.Catalogs." in unquote(body):
                        return self._send(200, b"{}")
                    return self._send(200, server.colconfig)
                what = json.loads(unquote(parse_qs(body)["request"][0]))["service"]
                with server._lock:
                    server.log.append(("POST", what))
                return self._send(200, server._invoke(body))

            def _file(self):
                query = parse_qs(urlparse(self.path).query)
                uri = query["uri"][0]
                name = uri.rsplit("/", 1)[-1]
                with server._lock:
                    server.log.append((self.command, name))
                    fault = None
                    if self.command == "GET" and server.faults[name]:
                        fault = server.faults[name].pop(0)
                data = server.files.get(name)
                if data is None:
                    return self._send(404, b"not found", "text/plain")
                if fault == "503":
                    return self._send(503, b"busy", "text/plain")
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if fault == "corrupt":
                    data = bytearray(data)
                    mid = len(data) - 1000
                    data[mid:mid + 8] = bytes(b ^ 0xFF for b in data[mid:mid + 8])
                    data = bytes(data)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return None
                if fault == "truncate":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                self.wfile.write(data)
                return None

            do_GET = _file
            do_HEAD = _file

        return Handler
