"""model/README.md: sentence-transformers' card with embedtune's section (what the model is, and how it compares
with its base model) before "Model Details"."""

from __future__ import annotations

from helpers import run_config


def test_a_run_writes_its_model_card(tiny_model_dir, tmp_path):
    from sentence_transformers import SentenceTransformer

    from embedtune.config import parse_config
    from embedtune.pipeline import run_training

    raw = run_config(tmp_path, tiny_model_dir)
    config_file = tmp_path / "recipe.yaml"
    config_file.write_text("# the user's recipe\n")
    run_training(parse_config(raw), tmp_path / "run", config_file=config_file)
    card = (tmp_path / "run" / "model" / "README.md").read_text(encoding="utf-8")
    section = card[card.index("## Fine-tuned with embedtune") : card.index("## Model Details")]
    assert card.startswith("---\ntags:\n- embedtune\n- sentence-transformers\n")
    assert "- **Base model:** st\n" in card and "<!-- - **Base model:**" not in card
    for fact in ("- **Strategy:** full", "- **Loss:** cosent", "- **Training data:** `train.tsv` (48 rows",
                 "- **Recipe:** `recipe.yaml`", "- **Forgetting guard:** OFF"):  # fmt: skip
        assert fact in section, fact
    assert "| toy | toy_roc_auc |" in section and "95% CI" in section
    assert "### Verdict and forgetting check" in section and "- toy: " in section
    assert section.count("## Fine-tuned with embedtune") == 1
    SentenceTransformer(str(tmp_path / "run" / "model"), device="cpu")  # the card does not stop it loading


def test_without_a_library_card_the_section_stands_alone(tmp_path):
    from embedtune.evaluation.model_card import base_model_name, write_model_card

    metrics = {"baseline": {"toy": {"roc_auc": 0.5}}, "final": {"toy": {"roc_auc": 0.75}}}
    facts = {"base model": base_model_name("default", "/nowhere"), "strategy": "lora"}
    write_model_card(tmp_path, facts, metrics, {}, ["toy: better"])
    card = (tmp_path / "README.md").read_text()
    assert "- **Base model:** sentence-transformers/all-MiniLM-L6-v2" in card
    assert "| toy | roc_auc | 0.5000 | 0.7500 | +0.2500 |" in card and "- toy: better" in card
