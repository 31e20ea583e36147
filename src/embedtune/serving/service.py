"""`embedtune serve`: an index and its model over HTTP (FastAPI + uvicorn, the ``serve`` extra).

``GET /health``, ``POST /embed`` ``{"texts": [...]}`` and ``POST /search`` ``{"query": "..."}`` or
``{"queries": [...]}`` with an optional ``"k"``. A bad request gets a 4xx with ``{"error": "one line"}`` and the
server goes on serving; request size, texts per request, text length and k are bounded by :class:`Limits`.
"""

# No "from __future__ import annotations": FastAPI reads the endpoints' annotations, some of them local names.
import threading
from dataclasses import dataclass

from embedtune.errors import UserError
from embedtune.serving.index import Index


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_000_000
    max_texts: int = 64
    max_text_chars: int = 10_000
    max_k: int = 100


def create_app(index: Index, encoder, limits: Limits = Limits()):
    """The FastAPI application; ``encoder`` is what ``load_encoder`` returns (one encode at a time: a lock, since
    torch on the CPU already uses every core and onnxruntime's session is shared)."""
    fastapi, pydantic = _imports()
    index.check_dimensions(encoder.dimensions)  # at start, not as a 500 on every search
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse

    class EmbedRequest(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        texts: list[str]

    class SearchRequest(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        query: str | None = None
        queries: list[str] | None = None
        k: int = pydantic.Field(default=5, ge=1, le=limits.max_k)

    class BadRequest(Exception):
        def __init__(self, status: int, message: str) -> None:
            super().__init__(message)
            self.status = status

    app = fastapi.FastAPI(title="embedtune", summary="Similar-document search with a tuned embedding model")
    lock = threading.Lock()

    @app.exception_handler(BadRequest)
    async def bad_request(_request, error: BadRequest):
        return JSONResponse({"error": str(error)}, status_code=error.status)

    async def parse(request, schema):
        if int(request.headers.get("content-length") or 0) > limits.max_body_bytes:
            raise BadRequest(413, f"request body over {limits.max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():  # a chunked body has no content-length: stop reading at the limit
            body += chunk
            if len(body) > limits.max_body_bytes:
                raise BadRequest(413, f"request body over {limits.max_body_bytes} bytes")
        try:
            return schema.model_validate_json(body)
        except pydantic.ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            status = 400 if first["type"] == "json_invalid" else 422
            raise BadRequest(status, f"{where}: {first['msg']}") from None

    def check_texts(texts: list[str], field: str) -> None:
        if not texts:
            raise BadRequest(422, f"{field}: empty list")
        if len(texts) > limits.max_texts:
            raise BadRequest(413, f"{field}: {len(texts)} texts, at most {limits.max_texts} per request")
        for i, text in enumerate(texts):
            if not text.strip():
                raise BadRequest(422, f"{field}.{i}: empty text")
            if len(text) > limits.max_text_chars:
                raise BadRequest(413, f"{field}.{i}: {len(text)} characters, at most {limits.max_text_chars}")

    def encode(texts: list[str]):
        with lock:
            return encoder.encode(texts, normalize=True)

    @app.get("/health")
    def health() -> dict:
        meta = index.meta
        return {"status": "ok", "documents": len(index), "dimensions": meta["dimensions"], "kind": meta["kind"]}

    @app.post("/embed")
    async def embed(request: fastapi.Request) -> dict:
        texts = (await parse(request, EmbedRequest)).texts
        check_texts(texts, "texts")
        vectors = await run_in_threadpool(encode, texts)
        return {"dimensions": int(vectors.shape[1]), "embeddings": vectors.round(6).tolist()}

    @app.post("/search")
    async def search(request: fastapi.Request) -> dict:
        asked = await parse(request, SearchRequest)
        if (asked.query is None) == (asked.queries is None):
            raise BadRequest(422, "give exactly one of 'query' (a text) or 'queries' (a list of texts)")
        texts = [asked.query] if asked.query is not None else asked.queries
        check_texts(texts, "query" if asked.query is not None else "queries")
        vectors = await run_in_threadpool(encode, texts)
        found = await run_in_threadpool(index.search, vectors, asked.k)  # a large exact search: off the event loop
        results = [[hit.as_dict() for hit in hits] for hits in found]
        return {"hits": results[0]} if asked.query is not None else {"results": results}

    return app


def _imports():
    try:
        import fastapi
        import pydantic
        import uvicorn  # noqa: F401  (checked here so the message comes before the index loads)
    except ImportError:
        raise UserError("embedtune serve needs FastAPI and uvicorn: pip install 'embedtune[serve]'") from None
    return fastapi, pydantic


def serve(app, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")
