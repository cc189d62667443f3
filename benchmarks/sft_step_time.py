"""SFT seconds a step: every weight vs LoRA adapters, on an align run's own data.

    python benchmarks/sft_step_time.py RUN_DIR [--steps 4] [--lora-r 16]

Reads ``RUN_DIR/data/examples.jsonl`` and the run's ``align.sft`` settings (batch size,
max_length, learning rate, scheduler) and ``align.model``, then trains ``--steps`` steps
of each kind from the same base, the same seed and the same batches (no checkpoints,
into a temporary folder) and prints each one's training seconds a step and the LoRA /
full ratio, measured in the same run. The data stage of ``experiment=align_llm`` is
enough (``align.until=data``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="an experiment=align_llm run directory")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--lora-r", type=int, default=16)
    args = p.parse_args()
    from omegaconf import OmegaConf

    from gtalign_sim.train.llm.data import to_dataset
    from gtalign_sim.train.llm.sft import SFTRunConfig, train_sft

    cfg = OmegaConf.load(args.run / "config.yaml")
    sft = OmegaConf.to_container(cfg.align.sft, resolve=True)
    lines = (args.run / "data" / "examples.jsonl").read_text(encoding="utf-8").splitlines()
    dataset = to_dataset([json.loads(x) for x in lines])
    keep = ("batch_size", "max_length", "learning_rate", "extra")
    common = {k: sft[k] for k in keep if k in sft}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, lora in (("full", False), ("lora", True)):
            config = SFTRunConfig(
                model=str(cfg.align.model),
                output_dir=Path(tmp) / kind,
                max_steps=args.steps,
                save_steps=0,
                seed=int(cfg.seed),
                lora=lora,
                lora_r=args.lora_r,
                **common,
            )
            result = train_sft(config, dataset)
            runtime = next(h["train_runtime"] for h in result.log_history if "train_runtime" in h)
            seconds[kind] = float(runtime) / args.steps  # trainer.train() alone: no loading
            print(f"{kind}: {seconds[kind]:.1f} s a step ({args.steps} steps)", flush=True)
    ratio = seconds["lora"] / seconds["full"]
    print(f"lora (r={args.lora_r}) / full: {ratio:.2f}")


if __name__ == "__main__":
    main()
