"""Hidden user profiles and the populations they are drawn from.

A :class:`UserProfile` is everything about a simulated user that the assistant never
sees: the intent behind the question, how much writing detail and answering questions
costs them, how they value time, reading and money, how patient they are, which
response length they like, and their pricing plan. A :class:`UserPopulation` is a
mixture of :class:`Persona` s, each a box of parameter ranges; sampling is
reproducible from a ``numpy.random.Generator``.

All costs are in *welfare units*: fractions of the value of a perfect answer (which
is worth 1). ``docs/model.md`` explains every default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.vocab import PRICING_PLANS

__all__ = [
    "DEFAULT_PERSONAS",
    "PRICING_PLANS",
    "Persona",
    "UserPopulation",
    "UserProfile",
]


@dataclass(frozen=True)
class UserProfile:
    """A simulated user's hidden type (never shown to the assistant).

    Attributes:
        persona: name of the persona it was drawn from.
        intent: id of the task interpretation the user means (set per task).
        patience: assistant turns the user tolerates before giving up (>= 1).
        effort_detail: cost of writing a detailed question (DQ) instead of a vague one.
        effort_answer: cost of answering a clarifying question or correcting an answer.
        time_cost: cost of each extra round trip (the user's value of time).
        reading_cost: cost per 100 tokens read.
        money_value: welfare units per dollar (what paying per token hurts).
        length_band: preferred answer length in words ``(lo, hi)``.
        misfit_cost: cost of an answer far outside the preferred band (at most this).
        satisfaction: answer-quality score at which the user is satisfied and stops.
        vague_bias: logit bias towards asking vaguely (a habit, beyond strategy).
        rationality: inverse temperature of the DQ/VQ choice (higher = more strategic).
        pricing: the user's plan, one of :data:`PRICING_PLANS`.
    """

    persona: str = "default"
    intent: str = ""
    patience: int = 2
    effort_detail: float = 0.15
    effort_answer: float = 0.08
    time_cost: float = 0.08
    reading_cost: float = 0.02
    money_value: float = 40.0
    length_band: tuple[float, float] = (20.0, 150.0)
    misfit_cost: float = 0.08
    satisfaction: float = 0.75
    vague_bias: float = 0.0
    rationality: float = 10.0
    pricing: str = "subscription"

    def __post_init__(self) -> None:
        if int(self.patience) < 1:
            raise ValueError(f"UserProfile.patience must be >= 1, got {self.patience!r}")
        for name in (
            "effort_detail",
            "effort_answer",
            "time_cost",
            "reading_cost",
            "money_value",
            "misfit_cost",
            "rationality",
        ):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"UserProfile.{name} must be a finite number >= 0, got {value!r}")
        lo, hi = self.length_band
        if not 0 <= lo <= hi:
            raise ValueError(f"UserProfile.length_band must satisfy 0 <= lo <= hi, got {(lo, hi)}")
        if not 0 < self.satisfaction <= 1:
            raise ValueError(
                f"UserProfile.satisfaction must be in (0, 1], got {self.satisfaction!r}"
            )
        if self.pricing not in PRICING_PLANS:
            raise ValueError(
                f"UserProfile.pricing {self.pricing!r} unknown; allowed: {list(PRICING_PLANS)}"
            )

    def with_intent(self, intent: str) -> UserProfile:
        """The same user meaning ``intent``."""
        return dataclasses.replace(self, intent=intent)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (for episode records)."""
        d = dataclasses.asdict(self)
        d["length_band"] = list(self.length_band)
        return d


Range = tuple[float, float]


@dataclass(frozen=True)
class Persona:
    """A kind of user: uniform ranges for each profile parameter and a mixture weight.

    ``patience`` is an inclusive integer range; ``length_band`` gives ranges for the
    band's lower and upper ends.
    """

    name: str
    weight: float = 1.0
    patience: tuple[int, int] = (1, 3)
    effort_detail: Range = (0.05, 0.25)
    effort_answer: Range = (0.04, 0.12)
    time_cost: Range = (0.04, 0.12)
    reading_cost: Range = (0.01, 0.03)
    money_value: Range = (40.0, 40.0)
    length_lo: Range = (20.0, 40.0)
    length_hi: Range = (100.0, 200.0)
    misfit_cost: Range = (0.04, 0.12)
    satisfaction: Range = (0.75, 0.75)
    vague_bias: Range = (0.0, 0.0)
    rationality: Range = (10.0, 10.0)

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError(f"Persona {self.name!r}: weight must be >= 0, got {self.weight}")
        for f in dataclasses.fields(self):
            if f.name in ("name", "weight"):
                continue
            lo, hi = getattr(self, f.name)
            if lo > hi:
                raise ValueError(
                    f"Persona {self.name!r}: {f.name} range must have lo <= hi, got {(lo, hi)}"
                )

    def sample(self, rng: np.random.Generator, pricing: str, intent: str = "") -> UserProfile:
        """Draw one profile from this persona's ranges."""

        def u(r: Range) -> float:
            return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])

        lo = u(self.length_lo)
        hi = max(lo, u(self.length_hi))
        return UserProfile(
            persona=self.name,
            intent=intent,
            patience=int(rng.integers(self.patience[0], self.patience[1] + 1)),
            effort_detail=u(self.effort_detail),
            effort_answer=u(self.effort_answer),
            time_cost=u(self.time_cost),
            reading_cost=u(self.reading_cost),
            money_value=u(self.money_value),
            length_band=(lo, hi),
            misfit_cost=u(self.misfit_cost),
            satisfaction=u(self.satisfaction),
            vague_bias=u(self.vague_bias),
            rationality=u(self.rationality),
            pricing=pricing,
        )


DEFAULT_PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="busy_professional",
        weight=0.30,
        patience=(1, 3),
        effort_detail=(0.10, 0.25),
        effort_answer=(0.06, 0.12),
        time_cost=(0.08, 0.15),
        reading_cost=(0.02, 0.04),
        length_lo=(10.0, 25.0),
        length_hi=(60.0, 120.0),
        vague_bias=(0.0, 0.5),
    ),
    Persona(
        name="student",
        weight=0.25,
        patience=(2, 3),
        effort_detail=(0.05, 0.15),
        effort_answer=(0.03, 0.08),
        time_cost=(0.02, 0.06),
        reading_cost=(0.005, 0.015),
        length_lo=(60.0, 100.0),
        length_hi=(250.0, 400.0),
        vague_bias=(0.3, 1.0),
    ),
    Persona(
        name="casual",
        weight=0.25,
        patience=(2, 3),
        effort_detail=(0.15, 0.35),
        effort_answer=(0.05, 0.10),
        time_cost=(0.04, 0.08),
        reading_cost=(0.01, 0.03),
        length_lo=(20.0, 40.0),
        length_hi=(100.0, 180.0),
        vague_bias=(0.5, 1.5),
    ),
    Persona(
        name="expert",
        weight=0.20,
        patience=(1, 2),
        effort_detail=(0.03, 0.08),
        effort_answer=(0.04, 0.08),
        time_cost=(0.06, 0.12),
        reading_cost=(0.02, 0.05),
        length_lo=(10.0, 20.0),
        length_hi=(50.0, 100.0),
        vague_bias=(-1.0, 0.0),
    ),
)
"""Four personas; ``docs/model.md`` gives the rationale for each range."""


@dataclass(frozen=True)
class UserPopulation:
    """A mixture of personas and of pricing plans.

    Args:
        personas: the mixture components (weights need not sum to 1).
        pricing: plan name -> probability (normalised), e.g. ``{"subscription": 1}``.
    """

    personas: tuple[Persona, ...] = DEFAULT_PERSONAS
    pricing: Mapping[str, float] = field(
        default_factory=lambda: {"subscription": 0.5, "per_token_api": 0.5}
    )

    def __post_init__(self) -> None:
        if not self.personas:
            raise ValueError("UserPopulation.personas must not be empty")
        if sum(p.weight for p in self.personas) <= 0:
            raise ValueError("UserPopulation.personas weights must not all be 0")
        unknown = [k for k in self.pricing if k not in PRICING_PLANS]
        if unknown:
            raise ValueError(
                f"UserPopulation.pricing has unknown plan(s) {unknown}; allowed: "
                f"{list(PRICING_PLANS)}"
            )
        if not self.pricing or sum(self.pricing.values()) <= 0 or min(self.pricing.values()) < 0:
            raise ValueError(
                "UserPopulation.pricing must give non-negative probabilities that do not all "
                f"vanish, got {dict(self.pricing)}"
            )

    @property
    def persona_weights(self) -> np.ndarray:
        """Normalised mixture weights of :attr:`personas`."""
        w = np.array([p.weight for p in self.personas], dtype=float)
        return w / w.sum()

    @property
    def plans(self) -> tuple[str, ...]:
        """Pricing plans with positive probability."""
        return tuple(k for k, v in self.pricing.items() if v > 0)

    def sample(
        self, rng: np.random.Generator, intent: str = "", pricing: str | None = None
    ) -> UserProfile:
        """Draw a persona, then a profile from it (pricing drawn unless given)."""
        k = int(rng.choice(len(self.personas), p=self.persona_weights))
        if pricing is None:
            names = list(self.pricing)
            probs = np.array([self.pricing[n] for n in names], dtype=float)
            pricing = names[int(rng.choice(len(names), p=probs / probs.sum()))]
        return self.personas[k].sample(rng, pricing=pricing, intent=intent)

    def sample_many(
        self, rng: np.random.Generator, n: int, pricing: str | None = None
    ) -> list[UserProfile]:
        """``n`` independent profiles (used as particles by model-based assistants)."""
        return [self.sample(rng, pricing=pricing) for _ in range(n)]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UserPopulation:
        """Build from ``{"personas": [{name, weight, <field>: [lo, hi]}...], "pricing": {...}}``.

        Missing ``personas`` means the defaults; a persona entry whose ``name`` matches a
        default persona overrides only the fields it gives.
        """
        allowed = {f.name for f in dataclasses.fields(Persona)}
        defaults = {p.name: p for p in DEFAULT_PERSONAS}
        personas: list[Persona] = []
        raw = config.get("personas")
        if raw is None:
            personas = list(DEFAULT_PERSONAS)
        else:
            for entry in _as_list(raw, "personas"):
                entry = dict(entry)
                unknown = sorted(set(entry) - allowed)
                if unknown:
                    raise ValueError(
                        f"persona field(s) {unknown} unknown; allowed: {sorted(allowed)}"
                    )
                if "name" not in entry:
                    raise ValueError("each persona needs a 'name'")
                if entry["name"] not in defaults:
                    needed = sorted(allowed - {"name"} - set(entry))
                    if needed:
                        raise ValueError(
                            f"population.personas: {entry['name']!r} is not a default persona "
                            f"({sorted(defaults)}); a new persona must give every field, "
                            f"missing {needed}"
                        )
                base = defaults.get(entry["name"], Persona(name=entry["name"]))
                kwargs = {
                    k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in entry.items()
                }
                personas.append(dataclasses.replace(base, **kwargs))
        pricing = dict(config.get("pricing") or {"subscription": 0.5, "per_token_api": 0.5})
        return cls(personas=tuple(personas), pricing=pricing)


def _as_list(value: Any, name: str) -> Sequence[Any]:
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return value
    try:
        return list(value)
    except TypeError:
        raise ValueError(f"{name} must be a list of mappings, got {type(value).__name__}") from None
