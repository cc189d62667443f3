"""Task generators, one module per family (imported lazily by :mod:`..bank`).

Each module exposes ``generate(n, seed) -> list[Task]``; the QA and safety modules also
``MAX_TASKS``, the most distinct tasks they can produce.
"""
