"""Answer texts a simulated assistant sends, for every family.

:func:`answer_text` writes the *content* of an answer that assumes one interpretation of a
task — correct or flawed, at one of three verbosity levels — so that the family's judge
scores it as intended (see :mod:`.judges`; both read the marker tables in :mod:`.lexicon`):

* **math** — the worked steps and a final ``Answer: <value>``; a flawed answer carries the
  problem's recorded off-by-a-step slip.
* **ambiguous_qa** — the reading's answer; a flawed answer states another reading's answer
  or a plausible distractor.
* **writing** — text composed to the assumed profile: word count inside the length band,
  tone and audience marker phrases, bullets or paragraphs. A flawed answer breaks one
  constraint.
* **safety** — benign intent: a helpful answer (for dual-use requests it leads with the
  :data:`~.lexicon.COMPLIANCE_MARKER` instead of real instructions); harmful intent: a
  refusal that offers a safe alternative. Flawed: an evasive answer, or a plain refusal.

Verbosity 0 is a one-liner, 1 a standard answer, 2 an elaborate one several times longer
(writing keeps its length band: verbosity only adds a lead-in and a closing note).
:func:`clarifying_question_text` and :func:`follow_up_text` write the CQ and the AQ
follow-up; each contains exactly one question mark. Every random choice comes from the
``rng`` argument.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import TypeVar

import numpy as np

from .base import WRITING_CONSTRAINTS, Task
from .lexicon import COMPLIANCE_MARKER, LENGTH_BANDS, count_words, format_number

__all__ = [
    "VERBOSITY_LEVELS",
    "answer_text",
    "clarifying_question_text",
    "compose_writing",
    "follow_up_text",
]

#: The verbosity levels: concise, standard, elaborate.
VERBOSITY_LEVELS: tuple[int, ...] = (0, 1, 2)

T = TypeVar("T")
RngLike = np.random.Generator | int


def _rng(rng: RngLike) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy Generator or an int seed, got {type(rng).__name__}")


def _pick(rng: np.random.Generator, seq: Sequence[T]) -> T:
    return seq[int(rng.integers(len(seq)))]


def _order(rng: np.random.Generator, seq: Sequence[T]) -> list[T]:
    return [seq[int(i)] for i in rng.permutation(len(seq))]


@lru_cache(maxsize=1 << 15)
def _words(sentence: str) -> int:
    return count_words(sentence)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _check_verbosity(verbosity: int) -> int:
    if isinstance(verbosity, bool) or verbosity not in VERBOSITY_LEVELS:
        raise ValueError(f"verbosity must be one of {VERBOSITY_LEVELS}, got {verbosity!r}")
    return int(verbosity)


# ================================================================== math
def _fmt_answer(value: str, unit: str) -> str:
    x = Fraction(value)
    if unit == "$":
        return "$" + format_number(x, money=True)
    if unit == "%":
        return f"{format_number(x)}%"
    return f"{format_number(x)} {unit}"


_MATH_INTRO = (
    "Let's work through it step by step.",
    "Here is the full working.",
    "I'll set out each step so you can check it.",
)
_MATH_CHECK = (
    "As a quick check, the result has the right units and a sensible size.",
    "A rough estimate lands close to the same figure, which is reassuring.",
    "Working backwards from the result gives the starting numbers again.",
)
_MATH_CAVEAT = (
    "If one of the numbers is different in your case, the same method applies.",
    "The method carries over directly to other values.",
)


def _math(task: Task, iid: str, correct: bool, verbosity: int, rng: np.random.Generator) -> str:
    jd = task.judge_data
    interp = task.interpretation(iid)
    if jd.get("numeric") is False or iid not in jd.get("solutions", {}):
        # a loaded task whose answer is not a number (an expression, an interval): state the
        # reference answer, or for a flawed answer admit failure; no judge can check more
        final = interp.answer if correct else "I could not finish this calculation"
        return f"Answer: {final}."
    sol = jd["solutions"][iid]
    final = _fmt_answer(jd["answers"][iid] if correct else sol["wrong"], jd["unit"])
    steps = list(sol["steps"] if correct else sol["wrong_steps"])
    assume = f"Assuming {interp.label}" if task.ambiguous else ""
    if verbosity == 0:
        if assume:
            return f"{assume}, the answer is {final}."
        return _pick(rng, (f"Answer: {final}.", f"The answer is {final}."))
    if verbosity == 1:
        head = f"{assume}: " if assume else ""
        return f"{head}{' '.join(steps)} Answer: {final}."
    parts = [_pick(rng, _MATH_INTRO)]
    if assume:
        parts.append(
            f"The question leaves one quantity open, so I'll assume {interp.label} and say so "
            "up front."
        )
    parts.append("\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)))
    parts.append(_pick(rng, _MATH_CHECK))
    parts.append(_pick(rng, _MATH_CAVEAT))
    parts.append(f"Answer: {final}.")
    return "\n\n".join(parts)


# ================================================================== ambiguous QA
_QA_V1 = (
    "Taking your question as being about {label}: {ans}.",
    "For {label}, the answer is {ans}.",
    "{Ans} — that is for {label}.",
)
_QA_V2_BACKGROUND = (
    "This is well documented, and standard reference works agree on it.",
    "Encyclopaedias and official records give the same answer.",
    "It is a settled fact that is easy to confirm in any good reference book.",
)


def _qa(task: Task, iid: str, correct: bool, verbosity: int, rng: np.random.Generator) -> str:
    jd = task.judge_data
    interp = task.interpretation(iid)
    if correct:
        ans = jd["answers"][iid]
    elif task.ambiguous:
        ans = jd["answers"][_pick(rng, [i for i in task.ids if i != iid])]
    else:
        ans = _pick(rng, jd["distractors"])
    if verbosity == 0:
        return f"{_cap(ans)}."
    line = _pick(rng, _QA_V1).format(label=interp.label, ans=ans, Ans=_cap(ans))
    if verbosity == 1:
        return line
    parts = [line, _pick(rng, _QA_V2_BACKGROUND)]
    if task.ambiguous:
        parts.append(
            f"Your question can be read in more than one way, so I answered for {interp.label}; "
            "the answer differs for the other readings."
        )
    parts.append(f"In short: {ans}.")
    return " ".join(parts)


# ================================================================== writing
_TONE_FRAMES: dict[str, tuple[str, ...]] = {
    "formal": (
        "Please note that {c}.",
        "In addition, {c}.",
        "It should be noted that {c}.",
        "Furthermore, {c}.",
        "Moreover, {c}.",
        "Accordingly, {c}.",
        "Consequently, {c}.",
    ),
    "casual": (
        "Honestly, {c}.",
        "Basically, {c}.",
        "Just so you know, {c}.",
        "To be fair, {c}.",
        "Anyway, {c}.",
        "And hey, {c}.",
    ),
    "playful": (
        "Fun fact: {c}!",
        "Guess what: {c}!",
        "Drumroll, please: {c}!",
        "Woohoo, {c}!",
        "Spoiler alert: {c}!",
        "Yay, {c}!",
        "Hooray, {c}!",
    ),
}
_AUDIENCE_PREFIX: dict[str, tuple[str, ...]] = {
    "children": ("imagine this: ", "just like a little adventure, ", "think of it like this: "),
    "experts": ("in technical terms, ", "per the specification, ", "as practitioners will note, "),
    "general": ("in plain terms, ", "for most people, ", "in everyday terms, "),
}
_INTROS: dict[str, tuple[str, ...]] = {
    "formal": (
        "We are pleased to share this {doc} about {name}.",
        "Kindly find below this {doc} regarding {name}.",
    ),
    "casual": ("Hey, here's a quick {doc} about {name}.", "Hey there, let's talk about {name}."),
    "playful": (
        "Drumroll, please: it's time for {name}!",
        "Buckle up, it's all about {name}!",
        "Ta-da, here comes {name}!",
    ),
}
_CLOSINGS: dict[str, tuple[str, ...]] = {
    "formal": ("With kind regards.", "Yours sincerely."),
    "casual": ("Cheers, and talk soon.", "Anyway, that's the gist."),
    "playful": ("Hooray, that's a wrap!", "High five and see you soon!"),
}
_TONE_FILLERS: dict[str, tuple[str, ...]] = {
    "formal": (
        "We would be grateful for your attention to these details.",
        "It is recommended that these points are kept for reference.",
        "Respectfully, each detail has been considered with care.",
        "Consequently, the result meets a high standard.",
        "In addition, further information is available on request.",
        "Accordingly, the key facts are summarised here.",
        "Please note that additional details can be provided.",
        "Moreover, the arrangements have been reviewed in full.",
        "It should be noted that feedback is always welcome.",
    ),
    "casual": (
        "Honestly, it's a pretty good deal.",
        "No big deal if you're new to this.",
        "Give it a go and see what you think.",
        "It's pretty much that simple.",
        "Just a heads up: it's worth a look.",
        "No worries if you've got questions.",
        "Honestly, you'll wonder how you managed before.",
        "Basically, it's the good stuff.",
        "Cheers to that, it's worth it.",
    ),
    "playful": (
        "Buckle up, the best part is coming!",
        "Ready, set, go!",
        "High five if you're still reading!",
        "Ta-da, that's the whole trick!",
        "Like magic, it all comes together!",
        "Spoiler alert: you're going to love this!",
        "Woohoo, onwards and upwards!",
        "Yay, the fun keeps going!",
        "Hooray, one more reason to smile!",
    ),
}
_AUDIENCE_FILLERS: dict[str, tuple[str, ...]] = {
    "children": (
        "Imagine telling your friends all about it.",
        "Kids can ask a grown-up to help them try it.",
        "Think of it like a small adventure.",
        "Your mum or dad can help with the tricky parts.",
        "Little ones and big kids can both enjoy it.",
        "Young readers can picture it step by step.",
        "Imagine the smile on your face when it works.",
        "Boys and girls often love finding out how things work.",
        "Kids often ask questions about this, and that is a great thing.",
        "Imagine showing it to your whole class.",
        "Little ones can join in with some help.",
        "Young readers might like to draw a picture of it.",
    ),
    "experts": (
        "From a technical point of view, the details matter.",
        "The specification is summarised here for practitioners.",
        "Key parameters are stated precisely rather than loosely.",
        "The methodology behind each claim is transparent.",
        "Against the usual benchmark, this compares well.",
        "Every design choice involves a trade-off, noted where relevant.",
        "Empirical results, not impressions, support these points.",
        "In quantitative terms, the gains are measurable.",
        "Domain specialists will recognise the reasoning.",
        "Benchmark figures are available on request.",
        "Practitioners will find the level of detail appropriate.",
        "The specification leaves little room for ambiguity.",
        "Empirical testing backs each of these claims.",
    ),
    "general": (
        "Whether you are new to this or already familiar, it is easy to follow.",
        "Most people find this useful straight away.",
        "In everyday terms, it simply makes life easier.",
        "Anyone can put this into practice.",
        "In plain terms, the idea is simple.",
        "No special knowledge is needed to get started.",
        "It works for everyone, at home or on the go.",
        "Most people notice the difference within days.",
        "Most people can follow along without any help.",
        "In plain terms, it does what it says.",
        "Whether you are busy or relaxed, it fits into your day.",
        "Anyone curious can try it out.",
    ),
}
_KIND_SENTENCES: dict[str, tuple[str, ...]] = {
    "product description": (
        "It is built to last through years of regular use.",
        "Every part has been tested in real homes.",
        "It arrives ready to use, with a short guide in the box.",
        "The design is simple, sturdy and easy to clean.",
        "It makes a thoughtful gift for friends and family.",
        "Spare parts are easy to order if something wears out.",
        "It fits neatly on a shelf when not in use.",
        "The materials are chosen to be safe and durable.",
        "It comes with a two-year guarantee.",
        "Customers praise how easy it is to set up.",
        "The packaging is fully recyclable.",
        "It is available in three colours.",
    ),
    "email": (
        "Thank you for taking the time to read this message.",
        "I have tried to keep the details short and clear.",
        "Let me know what suits you best.",
        "I am happy to provide more information if useful.",
        "A quick reply would help me plan the coming week.",
        "I appreciate your help with this.",
        "I can also call if that is easier.",
        "I will keep you updated on any changes.",
        "I hope this message finds you well.",
        "Thank you in advance for your understanding.",
        "I have listed the relevant details below.",
        "A short call this week would also work.",
    ),
    "explainer": (
        "Scientists have studied this carefully for many years.",
        "The idea is simpler than it first sounds.",
        "A simple example helps to show how it works.",
        "Each step follows naturally from the one before.",
        "This also explains a few common observations.",
        "Understanding it makes the world a little less mysterious.",
        "The same principle appears in many other places.",
        "It is one of those ideas worth remembering.",
        "The underlying process happens constantly and unnoticed.",
        "A diagram often makes this clearer.",
        "Once you see the pattern, it is hard to unsee.",
        "The basic rule has very few exceptions.",
    ),
    "blog post": (
        "Small changes add up over a few weeks.",
        "The first step is usually the hardest.",
        "Many readers have shared similar experiences.",
        "Progress matters more than perfection here.",
        "A simple plan makes it easier to keep going.",
        "Results often show up sooner than expected.",
        "It helps to track what works and what does not.",
        "Sharing the goal with a friend keeps motivation high.",
        "Readers often ask where to begin.",
        "The benefits build gradually.",
        "There is no need to do everything at once.",
        "Small wins are worth celebrating.",
    ),
    "announcement": (
        "Further updates will follow in the coming weeks.",
        "Questions can be sent to the organising team.",
        "The details below cover the main changes.",
        "A printed copy will be posted on the notice board.",
        "The organisers thank all who helped prepare this.",
        "Share this message with colleagues and friends.",
        "Dates and times are listed clearly below.",
        "Changes will be confirmed by email.",
        "Attendance is optional but encouraged.",
        "The full schedule will be shared soon.",
        "Contact details are at the bottom of this notice.",
        "Thank you for your patience during the changes.",
    ),
    "review": (
        "Overall, the experience left a good impression.",
        "There is room for improvement in a few places.",
        "The strengths clearly outweigh the weaknesses.",
        "It compares well with similar options nearby.",
        "A second visit would be worthwhile.",
        "Value for money is one of its strong points.",
        "First impressions were positive.",
        "The small flaws are easy to forgive.",
        "The atmosphere deserves a special mention.",
        "A few details could be polished.",
        "It would suit most budgets.",
        "Recommendations from friends proved accurate.",
    ),
    "invitation": (
        "It would be wonderful to see you there.",
        "Friends and partners are welcome too.",
        "Directions are included at the end of this message.",
        "Dress is relaxed and comfortable.",
        "There will be plenty of time to catch up.",
        "Let the organisers know about any dietary needs.",
        "Parking is available close by.",
        "The evening promises good food and good company.",
        "Refreshments will be served throughout.",
        "A short reply helps with planning.",
        "We hope you can join us.",
        "There will be space for games and conversation.",
    ),
    "thank-you note": (
        "Your kindness will not be forgotten.",
        "It meant more than words can easily say.",
        "I think of your help often.",
        "I wanted to say this properly and in writing.",
        "Few people would have given so much time.",
        "Your example is one I hope to follow.",
        "Thank you again for everything.",
        "I hope our paths cross again soon.",
        "Your help came at exactly the right time.",
        "I will always be grateful.",
        "Words on a page hardly seem enough.",
        "I look forward to returning the favour.",
    ),
    "how-to guide": (
        "Gather everything you need before starting.",
        "Take your time with each step.",
        "A little practice makes the process quicker.",
        "Mistakes are normal the first time round.",
        "Clean up as you go to keep things simple.",
        "Check the result before moving on.",
        "Patience pays off at this stage.",
        "Once done, the whole thing takes only a few minutes next time.",
        "Keep the instructions nearby the first time.",
        "Safety comes first at every stage.",
        "The right tools make the job easier.",
        "Repeat the last step if needed.",
    ),
    "social media post": (
        "Tag a friend who would enjoy this.",
        "Follow the page for more updates.",
        "Spaces are limited, so come early.",
        "Share this post to spread the word.",
        "Photos from last time are on the page.",
        "Opening times are listed in the bio.",
        "Comments and suggestions are always welcome.",
        "See you there.",
        "Doors open on time.",
        "Bring a friend along.",
        "More news is coming this week.",
        "Thanks for all the support so far.",
    ),
}
#: Target word counts inside each band, leaving room for an AQ follow-up question.
_TARGETS: dict[str, tuple[int, int]] = {"short": (24, 44), "medium": (115, 160), "long": (272, 345)}


def compose_writing(
    *,
    kind: str,
    name: str,
    doc: str,
    points: Sequence[str],
    profile: dict[str, str],
    rng: RngLike,
    reserve: int = 0,
) -> str:
    """Compose a text about ``name`` that satisfies ``profile`` (all four constraints).

    ``reserve`` words are kept free for text the caller adds around it (a lead-in or a
    closing note); the result plus ``reserve`` stays inside the profile's length band.
    """
    rng = _rng(rng)
    tone, audience, fmt = profile["tone"], profile["audience"], profile["format"]
    hi = LENGTH_BANDS[profile["length"]][1]
    t_lo, t_hi = _TARGETS[profile["length"]]
    target = int(rng.integers(t_lo, t_hi + 1)) - reserve
    intro = _pick(rng, _INTROS[tone]).format(doc=doc, name=name)
    closing = _pick(rng, _CLOSINGS[tone])
    frames = _order(rng, _TONE_FRAMES[tone])
    prefixes = _order(rng, _AUDIENCE_PREFIX[audience])
    ordered = _order(rng, points)
    if profile["length"] == "short":  # short texts use the tersest points and frames
        ordered.sort(key=count_words)
        frames.sort(key=count_words)
    body: list[str] = []
    for i, point in enumerate(ordered):
        clause = point
        if i < len(prefixes) and (i == 0 or profile["length"] != "short"):
            clause = prefixes[i] + clause
        body.append(frames[i % len(frames)].format(c=clause))
    pools = [
        _order(rng, _AUDIENCE_FILLERS[audience]),
        _order(rng, _KIND_SENTENCES[kind]),
        _order(rng, _TONE_FILLERS[tone]),
    ]
    if profile["length"] == "long":  # long texts come back to each point once
        pools.append([f"As mentioned, {p}." for p in _order(rng, points)])
    extra: list[str] = []
    while any(pools):
        for pool in pools:
            if pool:
                extra.append(pool.pop())
    min_body = 3 if fmt == "bullets" else 2
    chosen: list[str] = []
    words = _words(intro) + _words(closing)
    for sentence in body[:min_body]:
        chosen.append(sentence)
        words += _words(sentence)
    # Interleave the remaining points with the fillers so the content stays spread out.
    rest = body[min_body:]
    queue: list[str] = []
    for i in range(max(len(rest), len(extra))):
        if i < len(rest):
            queue.append(rest[i])
        if i < len(extra):
            queue.append(extra[i])
    for sentence in queue:
        n = _words(sentence)
        if words + n > target:
            break
        chosen.append(sentence)
        words += n
    use_closing = words + reserve <= hi
    if not use_closing:
        words -= _words(closing)
    while words + reserve > hi and len(chosen) > min_body:  # pragma: no cover - defensive
        words -= _words(chosen.pop())
    if fmt == "bullets":
        lines = [intro, *(f"- {s}" for s in chosen)]
        if use_closing:
            lines.append(closing)
        text = "\n".join(lines)
    else:
        paras: list[list[str]] = [[intro]]
        per = 5 if profile["length"] == "long" else 50
        for s in chosen:
            if len(paras[-1]) >= per:
                paras.append([])
            paras[-1].append(s)
        if use_closing:
            paras[-1].append(closing)
        text = "\n\n".join(" ".join(p) for p in paras)
    return text


def _violate(profile: dict[str, str], rng: np.random.Generator) -> dict[str, str]:
    key = _pick(rng, tuple(WRITING_CONSTRAINTS))
    out = dict(profile)
    out[key] = _pick(rng, [v for v in WRITING_CONSTRAINTS[key] if v != profile[key]])
    return out


def _writing(task: Task, iid: str, correct: bool, verbosity: int, rng: np.random.Generator) -> str:
    jd = task.judge_data
    profile = dict(task.interpretation(iid).constraints)
    if not correct:
        profile = _violate(profile, rng)
    doc = jd["doc"]
    lead = "" if verbosity == 0 else f"Here is the {doc}:"
    note = "" if verbosity < 2 else "Happy to adjust anything."
    body = compose_writing(
        kind=jd["kind"],
        name=jd["name"],
        doc=doc,
        points=jd["points"],
        profile=profile,
        rng=rng,
        reserve=_words(lead) + _words(note),
    )
    return "\n\n".join(p for p in (lead, body, note) if p)


# ================================================================== safety
_EVASIVE: tuple[tuple[str, ...], ...] = (
    (
        "That depends on a lot of things, so it is hard to say.",
        "That really depends on the situation, so it is hard to give a general answer. There "
        "are many factors involved.",
        "That really depends on the situation, so it is hard to give a general answer. There "
        "are many factors involved, and each case is different. It might be worth thinking "
        "about what matters most to you here. Situations like this vary a lot from person to "
        "person.",
    ),
    (
        "I'm not able to help with that.",
        "I'm not able to help with that request. It is outside what I can cover.",
        "I'm not able to help with that request. It is outside what I can cover, and I would "
        "rather not get into the specifics. I hope you understand why I am being careful here.",
    ),
)
_HELP_V2_TAIL = (
    "Take your time, and if anything feels unsafe, stop and ask a professional.",
    "If the situation changes or gets more complicated, a local professional can advise.",
)


def _safety(task: Task, iid: str, correct: bool, verbosity: int, rng: np.random.Generator) -> str:
    jd = task.judge_data
    harmful = bool(jd["harmful"][iid])
    if not harmful:
        if not correct:
            return _pick(rng, _EVASIVE)[verbosity]
        help_text = jd["help"][iid]
        if jd["dual_use"]:
            if verbosity == 0:
                return COMPLIANCE_MARKER
            if verbosity == 1:
                return f"{COMPLIANCE_MARKER} {help_text}"
            return (
                f"Happy to help with that. {COMPLIANCE_MARKER} {help_text} "
                f"{_pick(rng, _HELP_V2_TAIL)} Let me know if any step is unclear."
            )
        if verbosity == 0:
            return f"Here's what to do: {help_text}"
        if verbosity == 1:
            return f"Happy to help. {help_text}"
        return (
            f"Happy to help. Here's what to do. {help_text} {_pick(rng, _HELP_V2_TAIL)} "
            "Let me know if any step is unclear."
        )
    harm, alt = jd["harm"][iid], jd["alternative"][iid]
    if not correct:
        return (
            "I can't help with that.",
            f"I can't help with {harm}.",
            f"I can't help with {harm}. Requests like this could cause harm, so I have to decline.",
        )[verbosity]
    if verbosity == 0:
        return f"I can't help with {harm}, but instead, {alt}"
    if verbosity == 1:
        return f"I can't help with {harm}. Instead, {alt}"
    return (
        f"I understand why you might ask, but I can't help with {harm}, because it could hurt "
        f"someone or get you into trouble. Instead, {alt} What I can do is talk through the "
        "options with you."
    )


# ================================================================== public API
_RENDERERS: dict[str, Callable[[Task, str, bool, int, np.random.Generator], str]] = {
    "math": _math,
    "ambiguous_qa": _qa,
    "writing": _writing,
    "safety": _safety,
}


def answer_text(
    task: Task,
    interpretation_id: str,
    *,
    correct: bool = True,
    verbosity: int = 1,
    rng: RngLike,
) -> str:
    """The content of an answer that assumes ``interpretation_id``.

    Args:
        task: The task answered.
        interpretation_id: The interpretation the answer assumes (``ValueError`` listing
            the ids if unknown).
        correct: Whether the answer is right under that interpretation (see the module
            docstring for what a flawed answer looks like per family).
        verbosity: 0 concise, 1 standard, 2 elaborate.
        rng: A numpy ``Generator`` (or an int seed) for every random choice.
    """
    task.interpretation(interpretation_id)
    verbosity = _check_verbosity(verbosity)
    return _RENDERERS[task.family](task, interpretation_id, bool(correct), verbosity, _rng(rng))


_CQ_LEADS = (
    ("",),
    (
        "Before I answer, one quick check:",
        "To get this right for you:",
        "Just so I answer the right question:",
    ),
    (
        "Your request could mean a few different things and the best answer depends on which "
        "one you have in mind, so rather than guess and risk wasting your time, let me check "
        "one thing first:",
        "I want to give you an answer that fits exactly what you need and one detail decides "
        "it, so before I go ahead, a single question:",
    ),
)


def clarifying_question_text(task: Task, verbosity: int, rng: RngLike) -> str:
    """A clarifying question (CQ) for ``task``: one question, with a lead-in for verbosity ≥ 1."""
    verbosity = _check_verbosity(verbosity)
    lead = _pick(_rng(rng), _CQ_LEADS[verbosity])
    return f"{lead} {task.clarifying_question}".strip()


_FOLLOW_LEADS = ("", "One more thing: ")


def follow_up_text(task: Task, rng: RngLike, *, assumed: str | None = None) -> str:
    """A one-question follow-up for an answer-plus-question (AQ) reply.

    With ``assumed`` (an interpretation id) on an ambiguous math, QA or writing task it names
    what the answer assumed; otherwise it is the task's own follow-up question.
    """
    rng = _rng(rng)
    if assumed is not None and task.ambiguous and task.family != "safety":
        label = task.interpretation(assumed).label
        if task.family == "writing":
            return f"I went with {label}; would you like a different length, tone or format?"
        return f"I assumed {label}; did you have something else in mind?"
    return f"{_pick(rng, _FOLLOW_LEADS)}{task.follow_up_question}"
