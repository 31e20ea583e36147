"""A tiny, randomly initialised BERT SentenceTransformer built in-process (no download), for the fixtures in
conftest.py and for scripts/bad_inputs_table.py."""

from __future__ import annotations

import inspect
from pathlib import Path

import torch

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = """
a about above across after again against all also am an and any are around as at away back be because been
before being below between big both but by came can car cat child children city come could day did do does dog
down during each early eat end even every eye face fact family far fast few find first five food for four friend
from game gave get girl give go good great group had hand happy hard has have he head hear help her here high him
his home house how i if in into is it its just keep kind know large last leave left life light like line little
live long look love made make man many may me men might more most mother much must my name near need never new
next night no not now number of off often old on once one only open or other our out over own page paper part
people picture place plant play point put read red right river road room run said same saw say school sea second
see sentence set she should show side small so some song sound start state still stop story study such sun take
talk tell than that the their them then there these they thing think this those though three through time to
together too took tree try turn two under up us use very walk want was water way we well went were what when
where which while white who why will with without woman women word work world would write year yes you young
your
""".split()
WORDPIECES = ["##s", "##es", "##ed", "##ing", "##er", "##est", "##ly", "##n", "##t", "##y"]
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
DIGITS = [str(d) for d in range(10)]
PUNCTUATION = list(".,!?;:'\"-()")


def tiny_vocab() -> list[str]:
    """Special tokens, whole words, common suffix pieces, single letters (also as ``##x``), digits, punctuation."""
    tokens = SPECIAL_TOKENS + WORDS + WORDPIECES + LETTERS + [f"##{c}" for c in LETTERS + DIGITS] + DIGITS
    tokens += PUNCTUATION
    return list(dict.fromkeys(tokens))


def build_tiny_model(
    directory: Path, hidden_size: int = 32, layers: int = 2, seed: int = 0, vocab: list[str] | None = None
) -> Path:
    """Build a small BERT (default 2 layers, 32 dims, ``tiny_vocab()``) with mean pooling and normalisation, save it,
    return the SentenceTransformer dir."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = vocab or tiny_vocab()
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:  # transformers >= 5
        tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True)
    else:
        tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    assert len(tokenizer) == len(vocab), "tiny tokenizer did not pick up the vocabulary"
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    hf_dir = directory / "hf"
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=64)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu")
    st_dir = directory / "st"
    model.save(str(st_dir))
    return st_dir
