"""embedtune serve: started on a free port as a user starts it, queried over real HTTP, bad requests answered with
a 4xx and a JSON error while the server goes on serving, then shut down."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from conftest import write_documents
from helpers import cli


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _call(base: str, path: str, body: object = None, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def server(tiny_export, tmp_path_factory):
    """`embedtune serve` on the tiny export's index, in its own process; yields the base URL."""
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    folder = tmp_path_factory.mktemp("serve")
    documents = write_documents(folder / "docs.tsv")
    index = folder / "index"
    from embedtune.serving.encoder import load_encoder
    from embedtune.serving.index import build_index, read_documents

    docs = read_documents(documents)
    build_index(docs, load_encoder(str(tiny_export)).encode(docs.texts, normalize=True), str(tiny_export), index)
    port = _free_port()
    command = [sys.executable, "-m", "embedtune", "serve", str(index), "--port", str(port), "--max-texts", "4",
               "--max-body-bytes", "4000"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if _call(base, "/health")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"server did not start: {process.stdout.read()}")
        time.sleep(0.2)
    yield base
    process.send_signal(signal.SIGINT)  # what Ctrl-C does: uvicorn shuts down cleanly
    assert process.wait(timeout=30) == 0


def test_health(server):
    assert _call(server, "/health") == (200, {"status": "ok", "documents": 9, "dimensions": 32, "kind": "exact"})


def test_search_and_embed(server):
    status, found = _call(server, "/search", {"query": "printer toner is empty", "k": 2})
    assert status == 200
    assert [hit["id"] for hit in found["hits"]][:1] == ["T2"] and found["hits"][0]["category"] == "printer"
    status, found = _call(server, "/search", {"queries": ["reset my password please", "laptop screen is broken"]})
    assert status == 200 and [hits[0]["id"] for hits in found["results"]] == ["T3", "T6"]
    assert len(found["results"][0]) == 5  # the default k
    status, embedded = _call(server, "/embed", {"texts": ["printer jams", "password"]})
    assert status == 200 and embedded["dimensions"] == 32 and len(embedded["embeddings"]) == 2
    assert sum(v * v for v in embedded["embeddings"][0]) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    "path, body, raw, status, fragment",
    [
        ("/search", None, b"{not json", 400, "JSON"),
        ("/search", {"k": 3}, None, 422, "exactly one of 'query'"),
        ("/search", {"query": "a", "queries": ["b"]}, None, 422, "exactly one of 'query'"),
        ("/search", {"query": "printer", "k": 0}, None, 422, "k:"),
        ("/search", {"query": "printer", "k": 101}, None, 422, "k:"),
        ("/search", {"query": "   "}, None, 422, "query.0: empty text"),
        ("/search", {"query": "printer", "top": 3}, None, 422, "top:"),
        ("/embed", {"texts": "one text"}, None, 422, "texts:"),
        ("/embed", {"texts": []}, None, 422, "texts: empty list"),
        ("/embed", {"texts": ["a"] * 5}, None, 413, "at most 4 per request"),
        ("/embed", {"texts": ["x" * 5000]}, None, 413, "request body over 4000 bytes"),
        ("/embed", None, b"", 400, "JSON"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_json_error_and_the_server_goes_on(server, path, body, raw, status, fragment):
    code, answer = _call(server, path, body, raw)
    assert code == status and fragment in answer["error"], answer
    assert _call(server, "/health")[0] == 200


def test_a_chunked_body_over_the_limit_is_refused_without_reading_it_all(server):
    sent = []

    def chunks():  # up to 50 MB with no content-length (chunked): the server must stop reading at its limit
        yield b'{"texts": ["'
        for _ in range(50_000):
            sent.append(1000)
            yield b"x" * 1000

    request = urllib.request.Request(server + "/embed", data=chunks(), headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=30)
        pytest.fail("a chunked body over --max-body-bytes was accepted")
    except urllib.error.HTTPError as error:
        assert error.code == 413 and "request body over 4000 bytes" in json.loads(error.read())["error"]
    except (ConnectionError, urllib.error.URLError):
        pass  # the server answered 413 and closed while the client was still sending
    assert sum(sent) < 10_000_000  # it stopped reading long before the end
    assert _call(server, "/health")[0] == 200


def test_unknown_path_is_404(server):
    assert _call(server, "/nothing")[0] == 404


def test_serve_on_a_folder_that_is_not_an_index_is_one_line(tmp_path, monkeypatch, capsys):
    from helpers import assert_one_line_error

    code, _, err = cli(monkeypatch, capsys, "serve", str(tmp_path))
    assert_one_line_error(code, err, "not an index", "embedtune index")
