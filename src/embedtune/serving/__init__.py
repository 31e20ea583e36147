"""From a finished run to answers: ONNX export with a parity check, encoding, similar-document search, HTTP."""
