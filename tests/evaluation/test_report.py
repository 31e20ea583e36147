"""report.md / report.html: CIs and significance, flags, inline PNG plots, no external resources, optional parts."""

from __future__ import annotations

import base64
import html
import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT

from embedtune.evaluation import plots
from embedtune.evaluation.report import MARKS, html_report, markdown_report, table_rows

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DETAILS = {"model": "tiny", "seed": "42"}
FLAG = "retention sick_spearman dropped 0.021 > tolerance 0.010"


@pytest.fixture
def metrics() -> dict:
    return {
        "baseline": {
            "stsb_dev": {"stsb_dev_spearman": 0.80, "stsb_dev_pearson": 0.81},
            "quora": {"quora_roc_auc": 0.85, "quora_f1": 0.70},
        },
        "final": {
            "stsb_dev": {"stsb_dev_spearman": 0.85, "stsb_dev_pearson": 0.82},
            "quora": {"quora_roc_auc": 0.90, "quora_f1": 0.75},
        },
    }


@pytest.fixture
def statistics() -> dict:
    def stat(baseline: float, final: float, delta_low: float, delta_high: float) -> dict:
        return {
            "baseline": baseline,
            "final": final,
            "delta": final - baseline,
            "baseline_low": baseline - 0.01,
            "baseline_high": baseline + 0.01,
            "final_low": final - 0.01,
            "final_high": final + 0.01,
            "delta_low": delta_low,
            "delta_high": delta_high,
            "excludes_zero": delta_low > 0 or delta_high < 0,
        }

    return {
        "stsb_dev": {
            "stsb_dev_spearman": stat(0.80, 0.85, 0.03, 0.07),
            "stsb_dev_pearson": stat(0.81, 0.82, -0.01, 0.03),
        },
        "quora": {"quora_roc_auc": stat(0.85, 0.90, 0.02, 0.08)},  # quora_f1 has no statistics
    }


def history() -> list[dict]:
    records = []
    for step in range(10, 210, 10):
        components = {"loss_dim_64": 1.0 / step**0.3, "loss_dim_32": 1.5 / step**0.3}
        records.append(
            {
                "kind": "train",
                "step": step,
                "epoch": step / 100,
                "lr": 1e-5,
                "loss": 2.5 / step**0.3,
                "grad_norm": 1.0,
                **components,
            }
        )
        if step % 100 == 0:
            records.append(
                {
                    "kind": "eval",
                    "step": step,
                    "epoch": step / 100,
                    "stsb_dev_spearman": 0.8 + step / 4000,
                    "stsb_dev_pearson": 0.81,
                    "quora_roc_auc": 0.86,
                    "quora_f1": 0.7,
                    "runtime": 3.0,
                }
            )
    return records + [{"kind": "summary", "step": 200, "epoch": 2.0, "train_loss": 0.5}]


def similarities() -> dict:
    rng = np.random.default_rng(0)
    labels, scores = rng.integers(0, 2, 200), rng.uniform(0, 5, 200)
    return {
        "quora": {half: {"cosine": rng.uniform(0, 1, 200), "label": labels} for half in ("baseline", "final")},
        "stsb_dev": {half: {"cosine": rng.uniform(-0.2, 1, 200), "label": scores} for half in ("baseline", "final")},
    }


CURVES = {"stsb_dev_spearman": {"baseline": [(64, 0.7), (32, 0.6), (128, 0.8)], "final": [(32, 0.75), (64, 0.8)]}}
# loss, components, lr, one eval panel per eval set (2), one histogram pair per eval set (2), one dimension curve
EXPECTED_PLOTS = {
    "Training loss",
    "Loss components",
    "Learning rate",
    "Eval: stsb_dev",
    "Eval: quora",
    "Pair similarities: quora",
    "Pair similarities: stsb_dev",
    "Matryoshka dimensions: stsb_dev_spearman",
}


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def images(self) -> dict[str, str]:
        return {attrs.get("alt", ""): attrs.get("src", "") for tag, attrs in self.tags if tag == "img"}


def full_report(metrics: dict, statistics: dict) -> str:
    return html_report(
        metrics,
        "run",
        DETAILS,
        statistics=statistics,
        flags=[FLAG],
        history=history(),
        similarities=similarities(),
        dimension_curves=CURVES,
    )


def decode_png(src: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:60]
    return base64.b64decode(src[len(prefix) :], validate=True)


def test_html_references_no_external_resource(metrics, statistics):
    text = full_report(metrics, statistics)
    assert not re.search(r"https?://", text)
    for tag, attrs in Tags(text).tags:
        assert tag not in {"script", "link", "iframe"}
        for name in ("src", "href"):
            assert not attrs.get(name, "data:").startswith(("http", "//")), (tag, attrs)
    assert "@import" not in text and "url(" not in text


def test_every_expected_plot_is_an_inline_png(metrics, statistics):
    images = Tags(full_report(metrics, statistics)).images()
    assert set(images) == EXPECTED_PLOTS
    for title, src in images.items():
        png = decode_png(src)
        assert png.startswith(PNG_SIGNATURE), title
        assert len(png) > 5000, title  # a drawn figure, not an empty canvas


def test_statistics_show_confidence_intervals_and_significance(metrics, statistics):
    text = full_report(metrics, statistics)
    assert "baseline [95% CI]" in text and "delta [95% CI]" in text
    assert "[0.7900, 0.8100]" in text and "[+0.0300, +0.0700]" in text and "[-0.0100, +0.0300]" in text
    assert text.count("class='sig up'") == 2  # stsb_dev_spearman and quora_roc_auc; pearson's interval holds zero
    markdown = markdown_report(metrics, "run", DETAILS, statistics=statistics)
    assert "| stsb_dev | stsb_dev_spearman | 0.8000 [0.7900, 0.8100] |" in markdown
    assert f"+0.0500 [+0.0300, +0.0700] | {MARKS['better']} |" in markdown
    assert "| stsb_dev | stsb_dev_pearson | 0.8100 [0.8000, 0.8200] | 0.8200 [0.8100, 0.8300] |" in markdown
    assert "| quora | quora_f1 | 0.7000 | 0.7500 | +0.0500 |  |" in markdown  # no statistics: plain, unmarked


def test_a_significant_drop_is_marked_apart_from_a_gain_in_the_metrics_direction(metrics):
    falling = {"delta_low": -0.09, "delta_high": -0.01, "excludes_zero": True}
    rows = table_rows(metrics, {"quora": {"quora_f1": falling}, "stsb_dev": {"stsb_dev_spearman": falling}})
    assert {row.metric: row.mark for row in rows if row.mark} == {
        "quora_f1": MARKS["worse"],
        "stsb_dev_spearman": MARKS["worse"],
    }
    lower_better = {"baseline": {"s": {"s_overlap": 0.4}}, "final": {"s": {"s_overlap": 0.3}}}
    [row] = table_rows(lower_better, {"s": {"s_overlap": falling}})
    assert row.mark == MARKS["better"]  # overlap fell: a gain


def test_threshold_is_a_setting_with_no_delta_and_no_mark():
    metrics = {"baseline": {"p": {"p_threshold": 0.5}}, "final": {"p": {"p_threshold": 0.7}}}
    stat = {"p": {"p_threshold": {"delta_low": 0.1, "delta_high": 0.3, "excludes_zero": True}}}
    [row] = table_rows(metrics, stat)
    assert row.values["delta"] is None and row.mark == "" and row.cis["delta"] == ""
    assert "| p | p_threshold | 0.5000 | 0.7000 | – |  |" in markdown_report(metrics, "run", {}, statistics=stat)


def test_verdict_lines_open_both_reports(metrics):
    verdict = ["quora: better: roc_auc +0.0870 [+0.0500, +0.1200] (0.8000 -> 0.8870)", "forgetting check: OFF (x)"]
    markdown = markdown_report(metrics, "run", DETAILS, verdict=verdict)
    assert markdown.index(verdict[0]) < markdown.index("| eval set") and verdict[1] in markdown
    page = html_report(metrics, "run", DETAILS, verdict=verdict)
    assert page.index(html.escape(verdict[0])) < page.index("<table")


def test_rows_without_interval_bounds_are_never_significant(metrics):
    rows = table_rows(metrics, {"quora": {"quora_f1": {"delta_low": None, "delta_high": None}}})
    assert not any(row.significant or any(row.cis.values()) for row in rows)
    derived = table_rows(metrics, {"quora": {"quora_f1": {"delta_low": -0.09, "delta_high": -0.01}}})
    assert [row.metric for row in derived if row.significant] == ["quora_f1"]


def test_flags_are_a_warning_box_before_the_metrics(metrics):
    text = html_report(metrics, "run", DETAILS, flags=[FLAG, "second"])
    assert "class='flags'" in text and "2 warnings" in text
    assert text.index(html.escape(FLAG)) < text.index("<table")
    markdown = markdown_report(metrics, "run", DETAILS, flags=[FLAG])
    assert f"> **Warning:** {FLAG}" in markdown and markdown.index(FLAG) < markdown.index("| eval set")


@pytest.mark.parametrize(
    "optional",
    [
        {},
        {"statistics": None, "flags": None, "history": None, "similarities": None, "dimension_curves": None},
        {"statistics": {}, "flags": [], "history": [], "similarities": {}, "dimension_curves": {}},
        {"history": [{"kind": "summary", "step": 5, "train_loss": 1.0}], "similarities": {"quora": {}}},
        {"dimension_curves": {"x": {"baseline": [], "final": []}}},
    ],
)
def test_renders_without_the_optional_parts(metrics, optional):
    text = html_report(metrics, "run", DETAILS, **optional)
    assert "<img" not in text and "class='flags'" not in text and "sig." not in text
    assert text.count("<tr>") == 1 + 4
    assert "<h2>Training</h2>" not in text


def test_empty_metrics_render(statistics):
    assert "<table>" in html_report({}, "run", {}, statistics=statistics)
    assert "| eval set |" in markdown_report({}, "run", {})


def test_each_plot_section_is_present_only_with_its_data(metrics):
    only_history = Tags(html_report(metrics, "run", DETAILS, history=history())).images()
    assert set(only_history) == {"Training loss", "Loss components", "Learning rate", "Eval: stsb_dev", "Eval: quora"}
    only_curves = Tags(html_report(metrics, "run", DETAILS, dimension_curves=CURVES)).images()
    assert set(only_curves) == {"Matryoshka dimensions: stsb_dev_spearman"}
    one_half = {"quora": {"final": similarities()["quora"]["final"]}}
    assert set(Tags(html_report(metrics, "run", DETAILS, similarities=one_half)).images()) == {
        "Pair similarities: quora"
    }


def test_markdown_has_every_metric_row_and_no_images(metrics, statistics):
    for stats in (None, statistics):
        markdown = markdown_report(metrics, "run", DETAILS, statistics=stats)
        for name, values in metrics["final"].items():
            for metric in values:
                assert f"| {name} | {metric} |" in markdown
        assert "data:image" not in markdown and "<img" not in markdown


def test_markdown_without_statistics_keeps_the_plain_table(metrics):
    markdown = markdown_report(metrics, "run", DETAILS)
    assert "| eval set | metric | baseline | final | delta |" in markdown
    assert "| stsb_dev | stsb_dev_spearman | 0.8000 | 0.8500 | +0.0500 |" in markdown
    assert "95% CI" not in markdown and "Warning" not in markdown


def test_loss_components_are_the_other_numeric_train_keys():
    records = [{"kind": "train", "step": 1, "epoch": 0.1, "lr": 1e-5, "loss": 1.0, "grad_norm": 2.0, "bad": "nan"}]
    assert [title for title, _ in plots.loss_figures(records)] == ["Training loss"]
    records[0]["cosent"] = 0.5
    assert [title for title, _ in plots.loss_figures(records)] == ["Training loss", "Loss components"]
    records[0].update(cosent_raw=0.25, cosent_weight=2.0, cosent_share=1.0, phase="3")
    assert [title for title, _ in plots.loss_figures(records)] == [
        "Training loss",
        "Loss components",
        "Loss components, raw",
        "Component weights",
        "Component shares of the total",
    ]


def test_eval_metrics_are_grouped_by_eval_set():
    keys = [
        f"{name}_{metric}" for name in ("a_dev", "a_dev_big", "b") for metric in ("spearman", "pearson", "f1", "x")
    ]
    groups = plots.group_metrics(keys, ["a_dev", "a_dev_big", "b"])
    assert list(groups) == ["a_dev", "a_dev_big", "b"] and all(len(g) == 4 for g in groups.values())
    assert plots.group_metrics(["q_dev_roc_auc", "loss"]) == {"q_dev_roc": ["q_dev_roc_auc"], "loss": ["loss"]}


def _load_screenshot_script():
    spec = importlib.util.spec_from_file_location("report_screenshot", ROOT / "bench" / "report_screenshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
def test_screenshot_of_the_report_shows_content(tmp_path):
    from PIL import Image

    script = _load_screenshot_script()
    html_path = script.write_report(script.synthetic_inputs(), tmp_path / "report.html")
    png = script.screenshot(html_path, tmp_path / "report.png")
    assert png.stat().st_size > 50_000
    with Image.open(png) as image:
        assert image.width == 1200 and image.height > 2000  # cropped to the page, which is long
        gray = image.convert("L")
        low, high = gray.getextrema()
        assert high - low > 100
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 500  # plots, not a blank page


def test_the_interval_level_is_the_configured_confidence(metrics, statistics):
    markdown = markdown_report(metrics, "run", DETAILS, statistics=statistics, confidence=0.9)
    page = html_report(metrics, "run", DETAILS, statistics=statistics, confidence=0.9)
    for text in (markdown, page):
        assert "90% CI" in text and "95%" not in text
