"""Child process: load the installed model with plain sentence-transformers, offline.

Usage: ``python -m tests.st_load_child MODEL_DIR`` (tests/test_model_install.py). Prints
the model's prompts and the cosine between ``encode_document`` and ``encode`` with the
passage prompt, as JSON on the last line.
"""

from __future__ import annotations

import json
import sys

from sentence_transformers import SentenceTransformer


def main() -> None:
    model = SentenceTransformer(sys.argv[1])
    a = model.encode_document(["数字经济"], normalize_embeddings=True)
    b = model.encode(["数字经济"], prompt_name="passage", normalize_embeddings=True)
    print(json.dumps({"prompts": model.prompts, "same": float((a * b).sum())}))


if __name__ == "__main__":
    main()
