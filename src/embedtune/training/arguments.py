"""Map embedtune's training config onto SentenceTransformerTrainingArguments (which does the actual work)."""

from __future__ import annotations

from pathlib import Path

from embedtune.config import TrainingConfig
from embedtune.devices import tf32_on
from embedtune.distributed import world_size
from embedtune.evaluation.verdict import direction

SCHEDULERS = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}


def training_arguments(
    config: TrainingConfig,
    checkpoint_dir: Path,
    best_metric: str | None,
    no_duplicates: bool,
    lr_mapping: dict[str, float],
    device: str,
):
    """``best_metric`` is the evaluator key (e.g. ``stsb_spearman``); None means there is no evaluator. ``device`` is
    the resolved ``training.device`` (precision already checked against it)."""
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import MultiDatasetBatchSamplers

    evaluating = best_metric is not None
    selecting = evaluating and (config.save_best_model or config.early_stopping_patience is not None)
    strategy = ("steps" if config.eval_steps else "epoch") if evaluating else "no"
    save_strategy = strategy if evaluating else ("steps" if config.eval_steps else "epoch")
    return SentenceTransformerTrainingArguments(
        output_dir=str(checkpoint_dir),
        learning_rate=config.lr,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        # transformers 5 has no warmup_ratio: a float below 1 in warmup_steps is read as a ratio.
        warmup_steps=config.warmup_ratio if config.warmup_ratio is not None else (config.warmup_steps or 0),
        weight_decay=config.weight_decay,
        lr_scheduler_type=SCHEDULERS[config.scheduler],
        max_grad_norm=config.max_grad_norm,
        eval_strategy=strategy,
        eval_steps=config.eval_steps,
        save_strategy=save_strategy,
        save_steps=config.eval_steps or 500,
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=evaluating and config.save_best_model,
        # Only when selecting: with a metric set the trainer also keeps a "best" checkpoint the run never uses.
        metric_for_best_model=f"eval_{best_metric}" if selecting else None,
        greater_is_better=not selecting or direction(best_metric) > 0,  # overlap: lower is better
        logging_steps=config.logging_steps,
        logging_first_step=True,
        seed=config.seed,
        data_seed=config.seed,
        batch_sampler=_batch_sampler(config.group_by_length, no_duplicates),
        multi_dataset_batch_sampler=MultiDatasetBatchSamplers(config.task_sampling),
        learning_rate_mapping=lr_mapping,
        report_to=config.report_to or "none",
        use_cpu=device == "cpu",  # else the Trainer takes the GPU of this process's rank (cuda) or mps
        bf16=config.precision == "bf16",
        fp16=config.precision == "fp16",
        tf32=tf32_on(device),
        activation_checkpointing=config.gradient_checkpointing,
        dataloader_num_workers=0,
        # Several processes: every rank needs a full batch each step (gathered losses, DDP's all-reduce); the
        # Trainer trains with even_batches off, so an uneven tail would hang one rank.
        dataloader_drop_last=world_size() > 1,
        disable_tqdm=False,
        # A resume restores early stopping's patience count from the checkpoint (else a resumed run trains on).
        restore_callback_states_from_checkpoint=True,
    )


def _batch_sampler(by_length: bool, no_duplicates: bool):
    from sentence_transformers.base.sampler import BatchSamplers

    from embedtune.training.length_batches import LengthGroupedBatchSampler, LengthGroupedNoDuplicatesBatchSampler

    if by_length:
        return LengthGroupedNoDuplicatesBatchSampler if no_duplicates else LengthGroupedBatchSampler
    return BatchSamplers.NO_DUPLICATES if no_duplicates else BatchSamplers.BATCH_SAMPLER
