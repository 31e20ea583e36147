"""Distillation from a teacher whose outputs are cached once per text (see :class:`TeacherCache`)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from embedtune.objectives.teacher import TeacherCache, hidden_states_enabled, mean_pool, transformer_config


def uniform_layer_map(student_layers: int, teacher_layers: int) -> dict[int, int]:
    """Student layer i (1-based) -> teacher layer round(i * T / S): 6 -> 12 gives 1->2, 2->4, ..., 6->12."""
    return {i: round(i * teacher_layers / student_layers) for i in range(1, student_layers + 1)}


def _embed_with_hidden_states(model, sentence_features) -> list[Tensor]:
    with hidden_states_enabled(model):
        return [model(features)["sentence_embedding"] for features in sentence_features]


class ScoreDistillLoss(nn.Module):
    """The student's pair cosine regresses (MSE) on the teacher's pair cosine.

    Inputs: (sentence1, sentence2[, score]); with ``gold_blend`` b > 0 the target is (1 - b) * teacher + b * score
    (scores normalised to [0, 1], as every embedtune label is). Teacher embeddings come from the cache.
    """

    needs_hidden_states = False

    def __init__(self, model, cache: TeacherCache, gold_blend: float = 0.0) -> None:
        super().__init__()
        self.model, self.cache, self.gold_blend = model, cache, gold_blend

    def forward(self, sentence_features, labels: Tensor | None = None) -> Tensor:
        sentence_features = list(sentence_features)
        embeddings = [self.model(features)["sentence_embedding"] for features in sentence_features]
        return self.compute_loss_from_forward(sentence_features, embeddings, labels)

    def compute_loss_from_forward(self, sentence_features, embeddings: list[Tensor], labels) -> Tensor:
        if len(embeddings) < 2:
            raise ValueError("score distillation needs two text columns (sentence1, sentence2)")
        first, second = (self.cache.embeddings[self.cache.rows(f)] for f in sentence_features[:2])
        target = F.cosine_similarity(first, second).to(embeddings[0].device)
        if self.gold_blend > 0 and labels is not None:
            target = (1 - self.gold_blend) * target + self.gold_blend * labels.float()
        return F.mse_loss(F.cosine_similarity(embeddings[0], embeddings[1]), target)


class FeatureDistillLoss(nn.Module):
    """MSE between student and teacher sentence embeddings and, per mapped layer, their mean-pooled hidden states.

    Inputs: any text columns (labels ignored). With ``skip_unknown`` only the texts the cache holds are distilled
    (e.g. the rehearsal texts, ``distill_texts: rehearsal``); a batch without one gives 0. When sizes differ
    (MiniLM 384 vs MPNet 768) a learned linear projection maps the student into the teacher's space; the projections
    train with the model and are not saved with it. ``layer_map`` maps student layer -> teacher layer (hidden_states
    indices, 0 = embeddings output).
    """

    def __init__(
        self, model, cache: TeacherCache, layer_map: dict[int, int] | None = None, skip_unknown: bool = False
    ) -> None:
        super().__init__()
        self.model, self.cache, self.skip_unknown = model, cache, skip_unknown
        self.layer_map = dict(layer_map or {})
        width = model.get_embedding_dimension()
        hidden = transformer_config(model).hidden_size
        self.project = self._projection(width, cache.dimension)
        self.layer_projections = nn.ModuleDict(
            {str(s): self._projection(hidden, cache.layers[t].shape[1]) for s, t in self.layer_map.items()}
        )

    @property
    def needs_hidden_states(self) -> bool:
        return bool(self.layer_map)

    @staticmethod
    def _projection(source: int, target: int) -> nn.Module:
        return nn.Identity() if source == target else nn.Linear(source, target)

    def forward(self, sentence_features, labels: Tensor | None = None) -> Tensor:
        sentence_features = list(sentence_features)
        if self.needs_hidden_states:
            embeddings = _embed_with_hidden_states(self.model, sentence_features)
        else:
            embeddings = [self.model(features)["sentence_embedding"] for features in sentence_features]
        return self.compute_loss_from_forward(sentence_features, embeddings, labels)

    def compute_loss_from_forward(self, sentence_features, embeddings: list[Tensor], labels) -> Tensor:
        terms = []
        for features, embedding in zip(sentence_features, embeddings):
            rows, known = self.cache.known_rows(features) if self.skip_unknown else (self.cache.rows(features), None)
            if known is not None:
                if not bool(known.any()):
                    continue
                known = known.to(embedding.device)
            target = self.cache.embeddings[rows].to(embedding.device)
            terms.append(F.mse_loss(self.project(_select(embedding, known)), target))
            for student_layer, teacher_layer in self.layer_map.items():
                hidden = features["all_layer_embeddings"][student_layer]
                pooled = _select(mean_pool(hidden, features["attention_mask"]), known)
                target = self.cache.layers[teacher_layer][rows].to(pooled.device)
                terms.append(F.mse_loss(self.layer_projections[str(student_layer)](pooled), target))
        if not terms:  # no row of this batch is distilled (skip_unknown); zero keeps the graph for the trainer
            return embeddings[0].sum() * 0.0
        return torch.stack(terms).mean()


def _select(values: Tensor, rows: Tensor | None) -> Tensor:
    return values if rows is None else values[rows]


class AttentionDistillLoss(nn.Module):
    """KL(teacher || student) between self-attention distributions of mapped layers, compared between *words*.

    Inputs: any text columns (labels ignored). MPNet and BERT tokenise differently, so token-level maps have
    different sizes and meanings; both are reduced to word-level maps (:func:`word_attention`: mean over a word's
    query tokens, sum over its key tokens, special tokens and padding dropped, rows renormalised). Heads are averaged
    on both sides, which also covers different head counts and keeps the teacher cache at one W x W map per text
    and layer. When truncation leaves the two with different word counts, the shared leading words are compared.
    ``layer_map`` maps student layer -> teacher layer, 1-based (uniform 6 -> 12: 1->2, ..., 6->12).
    """

    needs_attentions = True

    def __init__(self, model, cache: TeacherCache, layer_map: dict[int, int]) -> None:
        super().__init__()
        self.model, self.cache, self.layer_map = model, cache, dict(layer_map)
        missing = sorted(set(self.layer_map.values()) - set(cache.attention))
        if missing:
            raise ValueError(f"the teacher cache holds no attention maps for teacher layers {missing}")

    def forward(self, sentence_features, labels: Tensor | None = None) -> Tensor:
        from embedtune.objectives.teacher import attentions_captured

        sentence_features = list(sentence_features)
        with attentions_captured(self.model) as captured:
            embeddings = []
            for features in sentence_features:
                embeddings.append(self.model(features)["sentence_embedding"])
                features["attentions"] = captured.pop()
        return self.compute_loss_from_forward(sentence_features, embeddings, labels)

    def compute_loss_from_forward(self, sentence_features, embeddings: list[Tensor], labels) -> Tensor:
        from embedtune.objectives.teacher import word_attention

        terms = []
        for features in sentence_features:
            rows = self.cache.rows(features).tolist()
            for b, row in enumerate(rows):
                words = self.cache.student_words[row]
                for student_layer, teacher_layer in self.layer_map.items():
                    student = word_attention(features["attentions"][student_layer - 1][b].mean(dim=0), words)
                    teacher = self.cache.attention[teacher_layer][row].to(student.device, student.dtype)
                    shared = min(len(student), len(teacher))
                    if shared == 0:
                        continue
                    terms.append(_row_kl(teacher[:shared, :shared], student[:shared, :shared]))
        if not terms:
            return embeddings[0].sum() * 0.0
        return torch.stack(terms).mean()


def _row_kl(target: Tensor, predicted: Tensor) -> Tensor:
    """Mean over rows of KL(target_row || predicted_row), each row renormalised over the shared words. In float32:
    in fp16 the 1e-12 floor is 0, and a word with no attention gave 0 * log 0 = NaN."""
    target, predicted = target.float(), predicted.float()
    target = target / target.sum(dim=1, keepdim=True).clamp_min(1e-12)
    predicted = predicted / predicted.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return (target * (target.clamp_min(1e-12).log() - predicted.clamp_min(1e-12).log())).sum(dim=1).mean()
