"""Writing requests with hidden constraint profiles.

Forty subjects over ten request kinds (product descriptions, emails, explainers, blog posts,
announcements, reviews, invitations, thank-you notes, how-to guides, social media posts).
Each subject carries four to five content *points* (plain clauses the renderer turns into
sentences). A user's intent is a full constraint profile — length, tone, audience, format,
see :data:`~gtalign_sim.tasks.base.WRITING_CONSTRAINTS`; an ambiguous task has two to four
candidate profiles, and its vague phrasing states only the constraints they share.

``judge_data``: ``kind``, ``subject``, ``name`` (how the text refers to the subject),
``points`` (the content clauses), ``doc`` (a noun for the piece, e.g. ``"email"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import DIFFICULTIES, WRITING_CONSTRAINTS, Interpretation, Task
from ._common import UNAMBIGUOUS_SHARE, family_rng, pick, priors, task_id

__all__ = ["KINDS", "SUBJECTS", "describe_profile", "generate", "profile_id"]

FAMILY = "writing"


@dataclass(frozen=True)
class Subject:
    """One thing to write about: the request, how the text names it, its content points."""

    kind: str
    request: str  # completes "Write ..." / "Draft ..."
    name: str  # how the text refers to it
    points: tuple[str, ...]


#: Request kinds: (verb phrase, noun for the piece).
KINDS: dict[str, tuple[str, str]] = {
    "product description": ("Write a product description for", "description"),
    "email": ("Draft an email to", "email"),
    "explainer": ("Write an explanation of", "explanation"),
    "blog post": ("Write a blog post about", "post"),
    "announcement": ("Write an announcement about", "announcement"),
    "review": ("Write a review of", "review"),
    "invitation": ("Write an invitation to", "invitation"),
    "thank-you note": ("Write a thank-you note to", "note"),
    "how-to guide": ("Write a how-to guide on", "guide"),
    "social media post": ("Write a social media post for", "post"),
}

_S = Subject
#: The subjects. Points are marker-free clauses (no contractions, no exclamation marks).
SUBJECTS: tuple[Subject, ...] = (
    _S(
        "product description",
        "a solar lantern",
        "the solar lantern",
        (
            "the lantern charges from sunlight during the day",
            "a full charge gives up to eight hours of warm light",
            "the handle folds flat so the lantern packs easily",
            "the shell is splash-proof for rainy evenings outdoors",
        ),
    ),
    _S(
        "product description",
        "a reusable water bottle",
        "the water bottle",
        (
            "the bottle keeps drinks cold for a full day",
            "the steel body does not hold on to old flavours",
            "a wide opening makes cleaning quick",
            "the lid seals tightly so bags stay dry",
        ),
    ),
    _S(
        "product description",
        "an ergonomic office chair",
        "the office chair",
        (
            "the chair supports the lower back with an adjustable cushion",
            "the seat height and armrests adjust in seconds",
            "breathable mesh keeps the sitter cool",
            "smooth wheels glide across carpet and wooden floors",
        ),
    ),
    _S(
        "product description",
        "a bamboo cutting board",
        "the cutting board",
        (
            "the board is made from fast-growing bamboo",
            "its surface is gentle on knife edges",
            "a groove around the edge catches juices",
            "it weighs little and hangs on a hook when not in use",
        ),
    ),
    _S(
        "email",
        "my landlord about a leaking tap",
        "the leaking tap",
        (
            "the kitchen tap has been dripping for a week",
            "the drip wastes water and is getting worse",
            "I am available on weekday mornings for a repair visit",
            "I would appreciate a reply by Friday",
        ),
    ),
    _S(
        "email",
        "my manager asking for a day off",
        "my day-off request",
        (
            "I would like to take Friday off",
            "my current tasks will be finished before then",
            "a colleague has agreed to cover urgent requests",
            "I can be reached by phone if something critical comes up",
        ),
    ),
    _S(
        "email",
        "a colleague about moving a meeting",
        "moving our meeting",
        (
            "the project meeting on Tuesday clashes with a client call",
            "Wednesday or Thursday afternoon would work for me",
            "the agenda and slides stay the same",
            "I will send a new calendar invitation once we agree",
        ),
    ),
    _S(
        "email",
        "my neighbour about our shared fence",
        "our shared fence",
        (
            "part of the fence between our gardens blew down in the storm",
            "I have asked two builders for quotes",
            "sharing the cost seems fair to me",
            "I am happy to meet in the garden to look at it together",
        ),
    ),
    _S(
        "explainer",
        "how vaccines work",
        "how vaccines work",
        (
            "a vaccine shows the immune system a harmless piece or copy of a germ",
            "the body learns to recognise that germ and makes antibodies",
            "memory cells stay ready for years afterwards",
            "if the real germ arrives the defence starts much faster",
        ),
    ),
    _S(
        "explainer",
        "why the sky is blue",
        "why the sky is blue",
        (
            "sunlight contains every colour of the rainbow",
            "air molecules scatter short blue wavelengths far more than red ones",
            "scattered blue light reaches our eyes from every direction",
            "at sunset the light crosses more air so reds and oranges remain",
        ),
    ),
    _S(
        "explainer",
        "how compound interest works",
        "compound interest",
        (
            "interest is added to the balance at regular intervals",
            "the next round of interest is paid on the new, larger balance",
            "growth speeds up the longer the money stays invested",
            "small regular deposits grow surprisingly large over decades",
        ),
    ),
    _S(
        "explainer",
        "why we have seasons",
        "the seasons",
        (
            "the axis of the Earth is tilted",
            "during summer one hemisphere leans toward the Sun",
            "sunlight then arrives more directly and days last longer",
            "half a year later the same hemisphere leans away and winter arrives",
        ),
    ),
    _S(
        "blog post",
        "saving energy at home",
        "saving energy at home",
        (
            "switching to LED bulbs cuts lighting costs sharply",
            "draught strips around doors keep warm air inside",
            "washing clothes at lower temperatures saves power",
            "turning devices off at the wall avoids standby waste",
        ),
    ),
    _S(
        "blog post",
        "starting a vegetable garden",
        "a first vegetable garden",
        (
            "a sunny spot with six hours of light works best",
            "raised beds warm up early and drain well",
            "easy crops such as lettuce and beans build confidence",
            "watering in the morning keeps plants healthy",
        ),
    ),
    _S(
        "blog post",
        "learning a new language",
        "learning a new language",
        (
            "a little practice every day beats one long weekly session",
            "listening to podcasts trains the ear",
            "speaking early, even with mistakes, builds fluency",
            "flashcards with spaced repetition help new words stick",
        ),
    ),
    _S(
        "blog post",
        "reducing food waste",
        "reducing food waste",
        (
            "planning meals before shopping prevents impulse buys",
            "herbs kept in a glass of water stay fresh longer",
            "leftovers can become soups, stir-fries or frittatas",
            "freezing bread and fruit stops them going off",
        ),
    ),
    _S(
        "announcement",
        "our office moving to a new building",
        "the office move",
        (
            "the team moves to the new building at the start of next month",
            "the new office has brighter meeting rooms and a quiet area",
            "packing crates will arrive a week before the move",
            "parking and bus routes are shown on the attached map",
        ),
    ),
    _S(
        "announcement",
        "the library's new opening hours",
        "the new opening hours",
        (
            "the library now opens at eight in the morning on weekdays",
            "a late opening until nine runs every Thursday",
            "the study room can be booked online",
            "weekend hours stay the same",
        ),
    ),
    _S(
        "announcement",
        "a community clean-up day",
        "the clean-up day",
        (
            "volunteers meet at the park gates on Saturday morning",
            "gloves, bags and litter pickers are provided",
            "the clean-up covers the river path and the playground",
            "refreshments are served at noon for every helper",
        ),
    ),
    _S(
        "announcement",
        "the school science fair",
        "the science fair",
        (
            "the science fair takes place in the main hall next Friday",
            "every class presents one experiment",
            "families can vote for their favourite project",
            "judges award prizes for curiosity and clear explanations",
        ),
    ),
    _S(
        "review",
        "a local Italian restaurant",
        "the Italian restaurant",
        (
            "the fresh pasta is made by hand every morning",
            "the tomato sauce tastes bright and balanced",
            "service was friendly though slow at the busiest time",
            "prices are fair for the generous portions",
        ),
    ),
    _S(
        "review",
        "a mystery novel set by the sea",
        "the mystery novel",
        (
            "the plot opens with a disappearance in a quiet coastal town",
            "the detective is sharp, stubborn and easy to root for",
            "the clues are fair and the twist lands well",
            "the middle chapters drag slightly before the finale",
        ),
    ),
    _S(
        "review",
        "a budget smartphone",
        "the budget phone",
        (
            "the battery easily lasts a full day",
            "the screen is bright enough to read outdoors",
            "the camera does well in daylight but struggles at night",
            "the price undercuts most rivals by a wide margin",
        ),
    ),
    _S(
        "review",
        "the city history museum",
        "the history museum",
        (
            "the museum tells the story of the city from its founding to today",
            "interactive displays keep younger visitors busy",
            "the old maps room is the highlight",
            "the café is small and fills up quickly",
        ),
    ),
    _S(
        "invitation",
        "a retirement party",
        "the retirement party",
        (
            "we are celebrating thirty years of service",
            "the party is at the riverside hall on Friday evening",
            "there will be dinner, music and a few short speeches",
            "guests are asked to reply by the end of the month",
        ),
    ),
    _S(
        "invitation",
        "a neighbourhood barbecue",
        "the barbecue",
        (
            "the barbecue is in the courtyard on Sunday afternoon",
            "grills, plates and drinks are provided",
            "each household can bring a salad or dessert to share",
            "games for children run until sunset",
        ),
    ),
    _S(
        "invitation",
        "our book club meeting",
        "the book club",
        (
            "the book club meets at the corner café on Wednesday evening",
            "this month we discuss a classic adventure novel",
            "new members are very welcome",
            "tea and cake are on the house",
        ),
    ),
    _S(
        "invitation",
        "a charity fun run",
        "the fun run",
        (
            "the fun run starts in the town park on Sunday morning",
            "routes of two and five kilometres suit every fitness level",
            "every entry fee goes to the local hospital",
            "a medal waits for each finisher",
        ),
    ),
    _S(
        "thank-you note",
        "my mentor",
        "your mentoring",
        (
            "your advice helped me through my first year at work",
            "our weekly chats gave me the confidence to speak up",
            "I still use the planning method you showed me",
            "I hope to pass on the same support to others",
        ),
    ),
    _S(
        "thank-you note",
        "the volunteer team",
        "the volunteers",
        (
            "your hard work made the food drive a success",
            "more than two hundred families received parcels",
            "the warehouse was sorted in record time",
            "the community is grateful for your generosity",
        ),
    ),
    _S(
        "thank-you note",
        "my host family",
        "my host family",
        (
            "your home felt like my own from the first day",
            "the family dinners were the best part of my stay",
            "my language skills improved thanks to you",
            "I would love to welcome you if you ever visit",
        ),
    ),
    _S(
        "thank-you note",
        "the nurse who cared for me",
        "your care",
        (
            "your care made a frightening week much easier",
            "you always explained each treatment patiently",
            "the small jokes at night helped me sleep",
            "I am now back home and recovering well",
        ),
    ),
    _S(
        "how-to guide",
        "brewing coffee with a French press",
        "French press coffee",
        (
            "coarsely ground coffee stops the filter clogging",
            "water just off the boil brings out the flavour",
            "four minutes of steeping gives a balanced cup",
            "pressing the plunger slowly keeps grounds out of the cup",
        ),
    ),
    _S(
        "how-to guide",
        "changing a bike tyre",
        "changing a bike tyre",
        (
            "the wheel comes off once the quick release is open",
            "tyre levers lift the tyre away from the rim",
            "the new tube goes in slightly inflated so it does not twist",
            "the tyre is pumped to the pressure printed on its side",
        ),
    ),
    _S(
        "how-to guide",
        "planting tulip bulbs",
        "planting tulips",
        (
            "tulip bulbs go into the ground in autumn",
            "each bulb sits about three times its own height deep",
            "the pointed end faces upwards",
            "well-drained soil stops the bulbs from rotting",
        ),
    ),
    _S(
        "how-to guide",
        "making a monthly budget",
        "a monthly budget",
        (
            "the first step is listing every source of income",
            "fixed costs such as rent come next",
            "the remaining money is split between needs, wants and savings",
            "a short check at the end of each month keeps the plan on track",
        ),
    ),
    _S(
        "social media post",
        "a bakery's new sourdough loaf",
        "our new sourdough",
        (
            "the new sourdough rises slowly for a full day",
            "the crust is crackly and the crumb is soft",
            "the first loaves come out of the oven at seven",
            "each loaf is baked in small batches",
        ),
    ),
    _S(
        "social media post",
        "a museum's late-night opening",
        "the late-night opening",
        (
            "the museum stays open until ten this Friday",
            "live music fills the main gallery",
            "curators give short talks every hour",
            "entry is free after six",
        ),
    ),
    _S(
        "social media post",
        "a gym's new yoga class",
        "the new yoga class",
        (
            "the new yoga class runs on Monday and Wednesday evenings",
            "it suits complete beginners",
            "mats and blocks are provided",
            "the first session is free for members",
        ),
    ),
    _S(
        "social media post",
        "a bookshop's summer reading challenge",
        "the reading challenge",
        (
            "the summer reading challenge starts on the first of July",
            "readers collect a stamp for every book they finish",
            "prizes include book tokens and tote bags",
            "the challenge is open to readers of every age",
        ),
    ),
)

_LENGTH_TEXT = {
    "short": "short (under 60 words)",
    "medium": "medium length (about 100 to 180 words)",
    "long": "long (250 to 400 words)",
}
_AUDIENCE_TEXT = {"children": "children", "experts": "experts", "general": "a general audience"}
_FORMAT_TEXT = {"paragraph": "written as flowing paragraphs", "bullets": "as bullet points"}
_KEYS = tuple(WRITING_CONSTRAINTS)


def _article(noun: str) -> str:
    return "An" if noun[:1].lower() in "aeiou" else "A"


def profile_id(profile: dict[str, str]) -> str:
    """``"short-playful-children-bullets"``."""
    return "-".join(profile[k] for k in _KEYS)


def describe_profile(profile: dict[str, str], keys: tuple[str, ...] = _KEYS) -> str:
    """``"short (under 60 words), playful, for children, as bullet points"``."""
    parts = []
    for k in keys:
        v = profile[k]
        if k == "length":
            parts.append(_LENGTH_TEXT[v])
        elif k == "tone":
            parts.append(f"{v} in tone")
        elif k == "audience":
            parts.append(f"for {_AUDIENCE_TEXT[v]}")
        else:
            parts.append(_FORMAT_TEXT[v])
    return ", ".join(parts)


def _detailed(subject: Subject, profile: dict[str, str], style: int) -> str:
    verb = KINDS[subject.kind][0]
    req = f"{verb} {subject.request}"
    length, tone = _LENGTH_TEXT[profile["length"]], profile["tone"]
    aud, fmt = _AUDIENCE_TEXT[profile["audience"]], _FORMAT_TEXT[profile["format"]]
    if style == 0:
        return f"{req}. Keep it {length}, {tone} in tone, aimed at {aud}, and {fmt}."
    if style == 1:
        return f"{req} for {aud}: {tone}, {length}, {fmt}."
    return (
        f"I need you to {req[0].lower()}{req[1:]}. It should be {length} and {tone}, written "
        f"for {aud}, {fmt}."
    )


def _profiles(rng: np.random.Generator, k: int, difficulty: str) -> list[dict[str, str]]:
    """``k`` distinct profiles; difficulty sets how far the candidates are apart."""
    base_length = {"easy": "short", "medium": "medium", "hard": "long"}[difficulty]
    base = {key: pick(rng, vals) for key, vals in WRITING_CONSTRAINTS.items()}
    if rng.random() < 0.6:
        base["length"] = base_length
    out = [base]
    spread = {"easy": 1, "medium": 2, "hard": 3}[difficulty]
    guard = 0
    while len(out) < k and guard < 100:
        guard += 1
        cand = dict(base)
        n_change = int(rng.integers(1, spread + 1))
        for key in [_KEYS[int(i)] for i in rng.choice(4, size=n_change, replace=False)]:
            cand[key] = pick(rng, [v for v in WRITING_CONSTRAINTS[key] if v != base[key]])
        if cand not in out:
            out.append(cand)
    return out


def _task(
    index: int,
    subject: Subject,
    profiles: list[dict[str, str]],
    prior_values,
    difficulty: str,
    style: int,
) -> Task:
    verb, doc = KINDS[subject.kind]
    interps = []
    for prof, p in zip(profiles, prior_values, strict=True):
        text = describe_profile(prof)
        interps.append(
            Interpretation(
                id=profile_id(prof),
                label=text.replace(" (under 60 words)", "")
                .replace(" (about 100 to 180 words)", "")
                .replace(" (250 to 400 words)", ""),
                detailed=_detailed(subject, prof, style),
                clarification=f"I'd like it {text}.",
                answer=f"{_article(subject.kind)} {subject.kind} about {subject.name}: {text}.",
                prior=p,
                constraints=prof,
            )
        )
    req = f"{verb} {subject.request}"
    if len(profiles) == 1:
        vague = (f"{req} — {describe_profile(profiles[0])}.",)
    else:
        common = tuple(k for k in _KEYS if len({p[k] for p in profiles}) == 1)
        if common:
            vague = (f"{req}, {describe_profile(profiles[0], common)}.", f"{req}.")
        else:
            vague = (f"{req}.", f"Can you {req[0].lower()}{req[1:]}?")
    return Task(
        id=task_id(FAMILY, index),
        family=FAMILY,
        topic=f"{subject.kind}: {subject.request}",
        vague=vague,
        interpretations=tuple(interps),
        clarifying_question="How long should it be, what tone and audience do you have in mind, "
        "and would you like paragraphs or bullet points?",
        follow_up_question="Would you like me to change the length, tone, audience or format?",
        difficulty=difficulty,
        judge_data={
            "kind": subject.kind,
            "subject": subject.request,
            "name": subject.name,
            "doc": doc,
            "points": list(subject.points),
        },
    )


def generate(n: int, seed: int) -> list[Task]:
    """``n`` writing tasks, deterministic in ``seed`` (a prefix of a longer run's output)."""
    rng = family_rng(FAMILY, seed)
    tasks: list[Task] = []
    seen: set[str] = set()
    tries = 0
    while len(tasks) < n:
        tries += 1
        if tries > 100 * (n + 10):  # pragma: no cover - the space is far larger than needed
            raise RuntimeError(f"could not draw {n} distinct writing tasks")
        subject = pick(rng, SUBJECTS)
        difficulty = pick(rng, DIFFICULTIES)
        k = 1 if rng.random() < UNAMBIGUOUS_SHARE else int(rng.integers(2, 5))
        profiles = _profiles(rng, k, difficulty)
        style = int(rng.integers(3))
        task = _task(len(tasks), subject, profiles, priors(rng, len(profiles)), difficulty, style)
        texts = [i.detailed for i in task.interpretations]
        if any(t in seen for t in texts):
            continue
        seen.update(texts)
        tasks.append(task)
    return tasks
