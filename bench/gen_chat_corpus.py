"""Seeded generator of synthetic LLM chat traffic in sovscan's JSONL envelope, with planted PII.

Default mode writes multi-turn conversations the way chat apps send them: every request resends the
whole history (system prompt + all earlier user/assistant turns + the new user turn). Several
conversations are in flight at once and their requests interleave, as in a real gateway log.
``--unique`` writes single-turn requests in which every text is distinct (no repetition at all).

About ``--pii-rate`` of the new user turns carry planted personal data: person names, e-mail
addresses, +61 phone numbers, checksum-valid Australian TFNs and Luhn-valid card numbers. Each
planted value is written to ``OUT.truth.jsonl`` as ``{"request_id", "entity", "value"}`` for the
request whose new user turn first carries it (later requests of the same conversation resend it).

Output is streamed: memory stays constant whatever ``--requests`` is.

    python bench/gen_chat_corpus.py --requests 300 --out bench/out/chat.jsonl [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

try:
    import orjson

    def _dumps(obj: Any) -> str:
        return orjson.dumps(obj).decode("utf-8")

except ImportError:  # pragma: no cover - the generator also runs without orjson

    def _dumps(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


OPENAI_URL = "https://api.openai.com/v1/chat/completions"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"
GEMINI_URL = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
OPENAI_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini")
ANTHROPIC_MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")
ENTITIES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "AU_TFN", "CREDIT_CARD")
ACTIVE_CONVERSATIONS = 8  # conversations in flight at once (bounds memory)

# --------------------------------------------------------------------------------------------------
# Applications: one system prompt each (300-1500 chars), a preferred provider and a domain.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class App:
    name: str
    provider: str
    domain: str
    system: str


APPS: tuple[App, ...] = (
    App(
        "support-bot",
        "openai",
        "insurance",
        "You are the customer support assistant for Southern Cross Mutual, an Australian general "
        "insurer offering home, contents, car and landlord cover. Answer questions about policies, "
        "premiums, excesses and claims in plain English, in no more than three short paragraphs. "
        "Never guess policy details: if the customer asks about a specific policy, explain what "
        "information you need and which self-service page holds it. Do not give financial or legal "
        "advice; refer those questions to a licensed adviser. Be warm but concise, use Australian "
        "spelling, and finish with one clear next step.",
    ),
    App(
        "claims-assistant",
        "anthropic",
        "claims",
        "You help claims officers triage and progress insurance claims. For every claim you are "
        "given, summarise the loss event, list the documents still missing, flag anything that "
        "looks inconsistent with the policy wording, and propose the next action with a target "
        "date. Keep a neutral, factual tone; never speculate about fraud in writing, instead note "
        "'refer to investigations' with the reason. Use headings and bullet points. If the officer "
        "asks for a customer letter, draft it in plain language at a Year 8 reading level and "
        "include the complaints and internal dispute resolution paragraph verbatim from the "
        "template library. Amounts are in Australian dollars unless stated otherwise. When the "
        "officer pastes notes from a phone call, turn them into a dated file note with the caller, "
        "the purpose of the call, what was agreed and any follow-up owed by either side.",
    ),
    App(
        "hr-helpdesk",
        "gemini",
        "hr",
        "You are the internal HR helpdesk assistant for a 2,400-person logistics company operating "
        "in Australia and New Zealand. Answer employee questions about leave, payroll dates, "
        "onboarding, flexible work, superannuation choice and the enterprise agreement. Quote the "
        "relevant policy section by its number when you can. If a question concerns a specific "
        "person's pay, performance, health or a complaint, do not answer it yourself: explain that "
        "an HR business partner will follow up confidentially and open a case. Keep answers under "
        "200 words.",
    ),
    App(
        "sales-copilot",
        "openai",
        "sales",
        "You are a sales copilot embedded in the CRM. Help account executives prepare for calls, "
        "write follow-up emails, summarise opportunity history and forecast risk. Be specific and "
        "action-oriented. When drafting emails, keep them under 150 words, avoid jargon, and "
        "propose a concrete meeting time. When asked about pricing, only use the price book "
        "figures supplied in the conversation; never invent discounts. Flag any deal that has had "
        "no customer activity for more than 21 days.",
    ),
    App(
        "finance-analyst",
        "anthropic",
        "finance",
        "You are a financial analysis assistant for the group finance team. You work with monthly "
        "management accounts, budgets and rolling forecasts. Explain variances against budget and "
        "prior year, separating volume, price and mix effects where the data allows. Show your "
        "working in a compact table before the commentary. State assumptions explicitly and "
        "label any figure you derive rather than read. Round to the nearest thousand dollars in "
        "commentary but keep full precision in tables. If the data supplied is incomplete or "
        "internally inconsistent, say so first and ask for the missing extract rather than "
        "filling gaps. Do not provide investment advice or comment on the share price. Month-end "
        "close runs on business day five; anything posted later belongs in the next period's "
        "commentary. Use the chart of accounts names, not the codes, in anything written for the "
        "executive team.",
    ),
    App(
        "it-servicedesk",
        "openai",
        "it",
        "You are the first-line IT service desk assistant. Diagnose common problems with laptops, "
        "VPN, email, Microsoft 365, printers and the corporate mobile fleet. Ask one clarifying "
        "question at a time. Give step-by-step instructions numbered 1, 2, 3. Never ask the user "
        "for their password or MFA codes. If a fix needs admin rights or the issue affects more "
        "than five people, raise a priority 2 incident and tell the user the ticket will be picked "
        "up by the on-call engineer within 30 minutes.",
    ),
    App(
        "legal-review",
        "anthropic",
        "legal",
        "You assist the in-house legal team with first-pass contract review. For each agreement "
        "or clause supplied, identify the governing law, term and termination rights, limitation "
        "of liability, indemnities, data protection and confidentiality obligations, and any "
        "unusual or one-sided provisions. Compare them against the company's standard positions "
        "listed in the playbook: liability capped at twelve months' fees, mutual indemnities for "
        "third-party IP claims only, thirty days to cure a material breach, and personal "
        "information handled under the Privacy Act 1988 (Cth) with notification of eligible data "
        "breaches within 48 hours. Present the result as a table of issue, clause reference, risk "
        "rating (low, medium, high) and suggested redline, followed by a short summary for the "
        "business owner. You are not a substitute for a lawyer: never state that a contract is "
        "safe to sign, and always recommend review by counsel for high-risk items. Where the text "
        "is ambiguous, quote the exact words and explain both readings. Keep the summary under "
        "250 words and write it for a commercial reader, not a lawyer.",
    ),
    App(
        "travel-desk",
        "gemini",
        "travel",
        "You are the corporate travel assistant. Help staff plan domestic and international "
        "business trips within the travel policy: economy class for flights under six hours, "
        "premium economy above that, hotels up to the city cap, and bookings at least 14 days "
        "ahead where possible. Suggest itineraries, explain the approval workflow and what to do "
        "if plans change. Do not make bookings yourself; hand over to the travel management "
        "company with a summary of the request.",
    ),
)
APP_BY_DOMAIN = {a.domain: a for a in APPS}

# --------------------------------------------------------------------------------------------------
# Text fragments. Slots in braces are filled from SLOTS (shared) or the domain's own slot lists.
# --------------------------------------------------------------------------------------------------
# fmt: off

SLOTS: dict[str, tuple[str, ...]] = {
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"),
    "city": ("Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide", "Hobart", "Canberra",
             "Darwin", "Auckland", "Singapore"),
    "team": ("finance", "operations", "the leadership team", "procurement", "customer success",
             "the board", "our auditors", "the project steering group", "marketing", "compliance"),
    "pct": ("3", "4.5", "7", "12", "15", "18", "22", "30"),
    "amount": ("$1,200", "$4,750", "$18,000", "$26,400", "$85,000", "$140,000", "$312,500",
               "$1.2 million"),
    "count": ("two", "three", "four", "five", "six", "a dozen", "twenty", "forty"),
    "period": ("this week", "by end of month", "before the quarter closes", "by Friday",
               "in the next sprint", "before the board meeting", "by close of business"),
    "tone": ("more formal", "friendlier", "shorter", "more direct", "less technical",
             "more detailed", "more persuasive"),
}

DOMAINS: dict[str, dict[str, tuple[str, ...]]] = {
    "insurance": {
        "topic": ("my home and contents policy", "the car insurance renewal", "the landlord cover",
                  "my excess", "the premium increase", "storm damage cover",
                  "the no-claim bonus", "a hire car after an accident", "flood cover",
                  "the direct debit schedule"),
        "fact": ("the renewal notice arrived yesterday", "the premium went up by about {pct}%",
                 "we had a leak in the laundry last {month}",
                 "the car is financed through the dealer", "we moved house in {month}",
                 "the sum insured is {amount}", "I have been a customer for {count} years",
                 "the tenant moved out two weeks ago"),
    },
    "claims": {
        "topic": ("claim file for the hail damage", "the water damage claim",
                  "the motor collision claim", "the theft claim from the storage unit",
                  "the business interruption claim", "the glass breakage claim",
                  "the roof repair quote", "the contents claim after the burglary"),
        "fact": ("the assessor visited on {weekday}", "the repair quote came in at {amount}",
                 "the police report is still outstanding", "the loss happened in {month}",
                 "photos were uploaded {count} days after the event",
                 "the builder can start {period}", "the customer disputes the depreciation",
                 "the excess of {amount} has not been paid"),
    },
    "hr": {
        "topic": ("annual leave", "parental leave", "the payroll calendar",
                  "salary packaging", "the onboarding checklist", "working from home",
                  "long service leave", "the super fund choice form", "the relocation policy"),
        "fact": ("I start a new role in {month}", "my manager approved it last {weekday}",
                 "I have about {count} weeks of leave accrued",
                 "I am moving from the {city} depot", "the team runs a rotating roster",
                 "I work four days a week", "the change should apply from next pay cycle"),
    },
    "sales": {
        "topic": ("the renewal with the logistics account", "the enterprise upsell",
                  "our pipeline for next quarter", "the pricing proposal",
                  "the pilot in {city}", "the security questionnaire", "the competitive deal",
                  "the multi-year agreement", "the procurement review"),
        "fact": ("the deal is worth roughly {amount}", "they asked for a {pct}% discount",
                 "the champion went quiet {count} weeks ago",
                 "procurement wants the paperwork {period}", "a competitor offered a free pilot",
                 "the budget is approved for {month}", "legal has the MSA redlines"),
    },
    "finance": {
        "topic": ("the March management accounts", "the variance in freight costs",
                  "the revenue forecast", "the capex plan", "the working capital position",
                  "the cost centre report", "the FX exposure", "the payroll accrual",
                  "the budget reforecast"),
        "fact": ("revenue came in {pct}% under budget", "freight costs rose by {amount}",
                 "the {city} site overspent on maintenance", "the numbers are due to {team}",
                 "the forecast assumes {pct}% volume growth",
                 "we reclassified {amount} from opex to capex",
                 "the close is running {count} days late"),
    },
    "it": {
        "topic": ("the VPN", "my laptop", "Outlook", "the shared drive", "Teams calls",
                  "the printer on level {count}", "my phone's email", "the MFA prompt",
                  "the new monitor", "the expense system login"),
        "fact": ("it started after the update on {weekday}", "I already restarted twice",
                 "it works at home but not in the {city} office",
                 "{count} people on my team have the same problem",
                 "the error says the connection timed out", "I am on a deadline {period}",
                 "it was fine until last {weekday}"),
    },
    "legal": {
        "topic": ("the supplier agreement", "the limitation of liability clause",
                  "the data processing addendum", "the NDA from the prospective partner",
                  "the indemnity wording", "the termination for convenience clause",
                  "the SaaS subscription terms", "the change of control provision"),
        "fact": ("the counterparty wants it signed {period}",
                 "liability is uncapped for data breaches",
                 "the governing law is New York", "the term auto-renews for {count} years",
                 "the fee is {amount} a year", "they refused mutual indemnities",
                 "the data will be hosted in {city}"),
    },
    "travel": {
        "topic": ("a trip to {city}", "the conference in {month}", "a client visit in {city}",
                  "the team offsite", "changing my return flight", "the hotel cap",
                  "travel insurance for the trip", "a multi-city itinerary"),
        "fact": ("I need to be there by {weekday} morning", "the client is paying for the hotel",
                 "the fare is about {amount}", "I will be away for {count} nights",
                 "my manager already approved the trip", "I would like to avoid red-eye flights",
                 "the event starts {period}"),
    },
}

FIRST_OPENERS = ("Hi,", "Hello,", "Quick question:", "Hi there,", "Morning,", "", "", "")
FOLLOW_OPENERS = ("Thanks for that.", "OK.", "Got it.", "Following up:", "One more thing:",
                  "Thanks.", "", "", "", "")
USER_ASKS = (
    "can you explain how {topic} works?",
    "what do I need to do about {topic}?",
    "could you summarise the options for {topic}?",
    "I need help with {topic}.",
    "can you draft a short note to {team} about {topic}?",
    "what are the main risks with {topic}?",
    "how long does {topic} usually take to sort out?",
    "is there a checklist for {topic}?",
    "please compare the two approaches you mentioned for {topic}.",
    "what would you recommend for {topic}, given the constraints?",
    "what questions should I expect from {team} on {topic}?",
)
FOLLOW_ASKS = (
    "can you make the last answer {tone}?",
    "could you turn that into a table?",
    "can you give me a one-paragraph summary I can paste into an email?",
    "what if {fact}?",
    "does that change if {fact}?",
    "can you expand on the second point?",
    "and how does that affect {topic}?",
)
USER_TAILS = (
    "I need this {period}.", "Keep it brief please.", "Use bullet points.",
    "Assume the reader is not technical.", "Thanks in advance.", "It is fairly urgent.",
    "Please include the next steps.", "No need for a long answer.", "", "", "",
)

ASSIST_OPENERS = (
    "Sure, here is a summary.", "Happy to help with that.", "Good question.",
    "Here is how I would approach it.", "Thanks for the extra detail.", "Understood.",
    "Of course.", "Let me break that down.",
)
ASSIST_BODY = (
    "The short answer is that {topic} depends mostly on timing and on what was already agreed.",
    "Given that {fact}, the simplest option is to confirm the details in writing first.",
    "Most teams handle {topic} in {count} steps, and the first one is usually the slowest.",
    "It is worth checking with {team} before committing, because they own the final approval.",
    "If {fact}, I would prioritise the items that unblock everyone else.",
    "The main risk is a delay, so I would set a checkpoint {period}.",
    "A cost of around {amount} is within the normal range for this kind of request.",
    "You may also want to note the change for the next review in {month}.",
    "There is no single right answer here, but the options below cover the common cases.",
    "The policy allows some flexibility, provided the reason is documented.",
    "In practice, a variance of about {pct}% is not unusual and can usually be explained.",
    "I would keep the message short and focus on the decision you need from {team}.",
    "Bear in mind that {fact}, so the timeline may need to move.",
    "The table below sets out the trade-offs for {topic}.",
)
ASSIST_STEPS = (
    "Confirm the key dates", "Gather the supporting documents", "Share a draft with {team}",
    "Record the decision and the reason", "Set a reminder for {weekday}",
    "Check the figures against the last report", "Escalate if there is no reply {period}",
    "Update the tracker", "Book a short call to close it out",
)
ASSIST_CLOSERS = (
    "Would you like me to draft the email?", "Let me know if you want more detail on any step.",
    "Shall I turn this into a checklist?", "Is there anything else you need for {topic}?",
    "I can adjust the tone if needed.", "",
)

# --------------------------------------------------------------------------------------------------
# Planted personal data.
# --------------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Sarah", "James", "Olivia", "Liam", "Charlotte", "Noah", "Amelia", "William", "Isla", "Jack",
    "Priya", "Rahul", "Mei", "Wei", "Aisha", "Mohammed", "Sofia", "Lucas", "Chloe", "Ethan",
    "Grace", "Thomas", "Hannah", "Daniel", "Zara", "Hiroshi", "Yuki", "Ananya", "Arjun", "Fatima",
    "Emily", "Oliver", "Matilda", "Henry", "Ruby", "Samuel", "Lily", "Benjamin", "Harper", "Leo",
    "Nguyen", "Minh", "Elena", "Marco", "Ingrid", "Tane", "Aroha", "Declan", "Siobhan", "Kwame",
)
LAST_NAMES = (
    "Johnson", "Smith", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Patel", "Chen", "Wang",
    "Singh", "Kaur", "Li", "Kim", "Martin", "Anderson", "Thompson", "White", "Harris", "Walker",
    "Robinson", "Kelly", "Ryan", "O'Connor", "Murphy", "Rossi", "Papadopoulos", "Tanaka", "Sato",
    "Kowalski", "Hughes", "Campbell", "Mitchell", "Stewart", "Morris", "Fraser", "Clarke",
    "Gupta", "Sharma", "Ahmed", "Hassan", "Ferrari", "Costa", "Lee", "Tran", "Le", "Mahmoud",
    "Okafor", "Henare", "Baker",
)
EMAIL_DOMAINS = (
    "gmail.com", "outlook.com", "bigpond.com", "hotmail.com", "icloud.com", "yahoo.com.au",
    "optusnet.com.au", "southerncross.com.au", "harbourlogistics.com.au", "example.org",
)
PLANT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "PERSON": (
        "My name is {v}.", "The account holder is {v}.",
        "I'm asking on behalf of {v}, who is away this week.",
        "Can you draft a reply to {v} about this?", "This came up in a call with {v} yesterday.",
        "Please address the letter to {v}.", "{v} raised this with me this morning.",
    ),
    "EMAIL_ADDRESS": (
        "You can reach me at {v}.", "Please send the confirmation to {v}.",
        "Their contact email is {v}.", "Copy {v} on the reply.",
    ),
    "PHONE_NUMBER": (
        "My mobile is {v}.", "Call me back on {v} if anything is unclear.",
        "The best number for them is {v}.", "They can be reached on {v} during business hours.",
    ),
    "AU_TFN": (
        "My tax file number is {v}.", "Their TFN is {v} if you need it for the form.",
        "For the payroll update, TFN: {v}.", "The tax file number on the declaration is {v}.",
    ),
    "CREDIT_CARD": (
        "Please charge it to my card {v}, expiry 08/29.", "The card on file is {v}.",
        "Refund it to card number {v}.", "The corporate card is {v}.",
    ),
}
ENTITY_WEIGHTS = (30, 25, 20, 12, 13)
# fmt: on
_TFN_WEIGHTS = (1, 4, 3, 7, 5, 8, 6, 9, 10)


def tfn_valid(digits: str) -> bool:
    return len(digits) == 9 and sum(int(d) * w for d, w in zip(digits, _TFN_WEIGHTS, strict=True)) % 11 == 0


def make_tfn(rng: random.Random) -> str:
    while True:
        head = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        # weight 10 ≡ -1 (mod 11), so the last digit must equal the weighted sum of the others.
        check = sum(d * w for d, w in zip(head, _TFN_WEIGHTS[:8], strict=True)) % 11
        if check <= 9:
            digits = "".join(map(str, [*head, check]))
            assert tfn_valid(digits)
            return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if rng.random() < 0.7 else digits


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def make_card(rng: random.Random) -> str:
    kind = rng.choices(("visa", "mastercard", "amex"), weights=(55, 35, 10))[0]
    prefix = {
        "visa": "4",
        "mastercard": str(rng.randint(51, 55)),
        "amex": rng.choice(("34", "37")),
    }[kind]
    length = 15 if kind == "amex" else 16
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    digits = next(body + str(c) for c in range(10) if luhn_valid(body + str(c)))
    sep = rng.choice((" ", " ", "-", ""))
    groups = (4, 6, 5) if kind == "amex" else (4, 4, 4, 4)
    parts, pos = [], 0
    for g in groups:
        parts.append(digits[pos : pos + g])
        pos += g
    return sep.join(parts)


def make_phone(rng: random.Random) -> str:
    if rng.random() < 0.65:  # mobile: +61 4xx xxx xxx (prefixes 40-43 and 46 are all valid)
        n = f"4{rng.choice('01236')}{rng.randint(0, 9)}{rng.randint(0, 999999):06d}"
        return rng.choice((f"+61 {n[:3]} {n[3:6]} {n[6:]}", f"+61{n}", f"+61 {n[:3]}-{n[3:6]}-{n[6:]}"))
    area, lead = rng.choice((("2", "9"), ("3", "9"), ("7", "3"), ("8", "9")))
    n = f"{lead}{rng.randint(0, 9999999):07d}"
    return f"+61 {area} {n[:4]} {n[4:]}"


def make_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def make_email(rng: random.Random, name: str | None = None) -> str:
    first, last = (name or make_name(rng)).lower().replace("'", "").split(" ", 1)
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}{last[0]}",
            f"{first}.{last}{rng.randint(1, 99)}",
        )
    )
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


# --------------------------------------------------------------------------------------------------
# Text composition.
# --------------------------------------------------------------------------------------------------


class Texts:
    """Builds user and assistant turns for a domain from the fragments above."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def fill(self, template: str, domain: str) -> str:
        d = DOMAINS[domain]
        out = template
        for _ in range(3):  # slots can contain slots ({topic} → "a trip to {city}")
            if "{" not in out:
                break
            values = {k: self.rng.choice(v) for k, v in SLOTS.items()}
            values["topic"] = self.rng.choice(d["topic"])
            values["fact"] = self.rng.choice(d["fact"])
            out = out.format(**values)
        return out

    def user(self, domain: str, first: bool) -> list[str]:
        rng = self.rng
        sentences: list[str] = []
        opener = rng.choice(FIRST_OPENERS if first else FOLLOW_OPENERS)
        asks = USER_ASKS if first or rng.random() < 0.5 else FOLLOW_ASKS
        ask = self.fill(rng.choice(asks), domain)
        if not opener or opener.endswith("."):
            ask = _cap(ask)
        sentences.append(f"{opener} {ask}".strip())
        for _ in range(rng.choice((0, 1, 1, 2))):
            fact = self.fill("{fact}", domain)
            sentences.append(f"For context, {fact}." if rng.random() < 0.4 else _cap(fact) + ".")
        tail = self.fill(rng.choice(USER_TAILS), domain)
        if tail:
            sentences.append(tail)
        return sentences

    def assistant(self, domain: str) -> str:
        rng = self.rng
        parts = [rng.choice(ASSIST_OPENERS)]
        body = [self.fill(t, domain) for t in rng.sample(ASSIST_BODY, rng.randint(2, 5))]
        parts.append(" ".join(_cap(b) for b in body))
        if rng.random() < 0.5:
            steps = rng.sample(ASSIST_STEPS, rng.randint(3, 5))
            parts.append("\n".join(f"{i}. {self.fill(s, domain)}." for i, s in enumerate(steps, 1)))
        closer = self.fill(rng.choice(ASSIST_CLOSERS), domain)
        if closer:
            parts.append(closer)
        return "\n\n".join(parts)


def _cap(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


def _unique_code(n: int) -> str:
    """A distinct letters-only code per n (bijective scramble over 26**7 values)."""
    x = (n * 4_963_770_541 + 4_096_107) % 26**7  # multiplier coprime with 26**7
    letters = []
    for _ in range(7):
        x, r = divmod(x, 26)
        letters.append(chr(ord("A") + r))
    return "".join(letters[:3]) + "-" + "".join(letters[3:])


_SENTENCE_END = re.compile(r"([.!?])(?=\s|$)")


def _distinct_sentences(text: str, code: str) -> str:
    """Every sentence tagged with the request's code, so that no sentence (and no line) repeats
    across requests either: a tool that caches sentences gains nothing in ``--unique`` mode."""
    count = 0

    def tag(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f" (ref {code}-{_letters(count - 1)}){match.group(1)}"

    return _SENTENCE_END.sub(tag, text)


def _letters(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = chr(ord("a") + r) + out
        if n == 0:
            return out


# --------------------------------------------------------------------------------------------------
# Bodies.
# --------------------------------------------------------------------------------------------------


@dataclass
class Conversation:
    app: App
    provider: str
    model: str
    turns_left: int
    parts_style: bool  # content as typed text parts instead of plain strings
    system: str
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, text)


def build_body(conv: Conversation, rng: random.Random) -> tuple[str, dict[str, Any]]:
    msgs = conv.history
    if conv.provider == "openai":

        def content(text: str) -> Any:
            return [{"type": "text", "text": text}] if conv.parts_style else text

        messages: list[dict[str, Any]] = [{"role": "system", "content": conv.system}]
        messages += [{"role": role, "content": content(text)} for role, text in msgs]
        body: dict[str, Any] = {"model": conv.model, "messages": messages, "temperature": 0.3}
        if rng.random() < 0.3:
            body["stream"] = True
        return OPENAI_URL, body
    if conv.provider == "anthropic":

        def block(text: str) -> Any:
            return [{"type": "text", "text": text}] if conv.parts_style else text

        return ANTHROPIC_URL, {
            "model": conv.model,
            "max_tokens": rng.choice((1024, 2048, 4096)),
            "system": conv.system,
            "messages": [{"role": role, "content": block(text)} for role, text in msgs],
        }
    return GEMINI_URL, {
        "systemInstruction": {"parts": [{"text": conv.system}]},
        "contents": [
            {"role": "model" if role == "assistant" else "user", "parts": [{"text": text}]}
            for role, text in msgs
        ],
        "generationConfig": {"temperature": 0.4, "maxOutputTokens": 2048},
    }


# --------------------------------------------------------------------------------------------------
# Generator.
# --------------------------------------------------------------------------------------------------


@dataclass
class Stats:
    requests: int = 0
    conversations: int = 0
    bytes: int = 0
    planted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTITIES, 0))


class Generator:
    def __init__(self, seed: int = 0, pii_rate: float = 0.05, unique: bool = False) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.pii_rate = pii_rate
        self.unique = unique
        self.texts = Texts(self.rng)
        self.clock = datetime(2026, 3, 2, 8, 0, tzinfo=UTC) + timedelta(days=seed % 28)
        self.stats = Stats()
        self.makers: dict[str, Callable[[random.Random], str]] = {
            "PERSON": make_name,
            "EMAIL_ADDRESS": make_email,
            "PHONE_NUMBER": make_phone,
            "AU_TFN": make_tfn,
            "CREDIT_CARD": make_card,
        }

    def new_conversation(self) -> Conversation:
        rng = self.rng
        app = rng.choice(APPS)
        others = [p for p in ("openai", "anthropic", "gemini") if p != app.provider]
        provider = rng.choices([app.provider, *others], weights=(70, 15, 15))[0]
        model = {
            "openai": rng.choice(OPENAI_MODELS),
            "anthropic": rng.choice(ANTHROPIC_MODELS),
            "gemini": "gemini-2.5-flash",
        }[provider]
        self.stats.conversations += 1
        turns = 1 if self.unique else rng.randint(2, 20)
        return Conversation(app, provider, model, turns, rng.random() < 0.2, app.system)

    def user_turn(self, domain: str, first: bool) -> tuple[str, list[tuple[str, str]]]:
        """A user turn and the (entity, value) pairs planted in it."""
        rng = self.rng
        sentences = self.texts.user(domain, first)
        planted: list[tuple[str, str]] = []
        if rng.random() < self.pii_rate:
            k = rng.choices((1, 2, 3), weights=(50, 35, 15))[0]
            kinds: list[str] = []
            while len(kinds) < k:
                kind = rng.choices(ENTITIES, weights=ENTITY_WEIGHTS)[0]
                if kind not in kinds:
                    kinds.append(kind)
            name: str | None = None
            for kind in kinds:
                if kind == "EMAIL_ADDRESS" and name is not None:
                    value = make_email(rng, name)
                else:
                    value = self.makers[kind](rng)
                if kind == "PERSON":
                    name = value
                planted.append((kind, value))
                sentence = rng.choice(PLANT_TEMPLATES[kind]).format(v=value)
                sentences.insert(rng.randint(1, len(sentences)), sentence)
        return " ".join(sentences), planted

    def requests(self, count: int) -> Iterator[tuple[dict[str, Any], list[tuple[str, str]]]]:
        """Yields (envelope, planted) for ``count`` requests."""
        rng = self.rng
        active: list[Conversation] = []
        for i in range(count):
            while len(active) < (1 if self.unique else ACTIVE_CONVERSATIONS):
                active.append(self.new_conversation())
            conv = rng.choice(active)
            domain = conv.app.domain
            user, planted = self.user_turn(domain, not conv.history)
            if self.unique:
                code = _unique_code(i)
                conv.system = _distinct_sentences(
                    f"{conv.app.system} Session context: workspace {code}, locale en-AU, "
                    f"{rng.choice(SLOTS['weekday'])} {rng.randint(7, 19)}:{rng.randint(0, 59):02d}.",
                    code,
                )
                user = _distinct_sentences(f"[ticket {code}] {user}", code)
            conv.history.append(("user", user))
            url, body = build_body(conv, rng)
            self.clock += timedelta(seconds=rng.uniform(0.2, 20.0))
            request_id = f"req_{i:07d}{rng.getrandbits(40):010x}"
            envelope = {
                "timestamp": self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "request_id": request_id,
                "app": conv.app.name,
                "url": url,
                "body": body,
            }
            yield envelope, planted
            conv.turns_left -= 1
            if conv.turns_left <= 0:
                active.remove(conv)
            else:
                conv.history.append(("assistant", self.texts.assistant(domain)))

    def write(self, count: int, out: TextIO, truth: TextIO) -> Stats:
        for envelope, planted in self.requests(count):
            line = _dumps(envelope) + "\n"
            out.write(line)
            self.stats.requests += 1
            self.stats.bytes += len(line.encode("utf-8"))
            for entity, value in planted:
                truth.write(
                    _dumps({"request_id": envelope["request_id"], "entity": entity, "value": value}) + "\n"
                )
                self.stats.planted[entity] += 1
        return self.stats


def generate(
    requests: int, out: str | Path, seed: int = 0, pii_rate: float = 0.05, unique: bool = False
) -> Stats:
    """Write ``requests`` requests to ``out`` and the ground truth to ``out + '.truth.jsonl'``."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    gen = Generator(seed=seed, pii_rate=pii_rate, unique=unique)
    with (
        path.open("w", encoding="utf-8", buffering=1 << 20) as fh,
        Path(truth_path(path)).open("w", encoding="utf-8") as th,
    ):
        return gen.write(requests, fh, th)


def truth_path(out: str | Path) -> str:
    return str(out) + ".truth.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, required=True, help="number of requests to write")
    parser.add_argument("--out", required=True, help="output JSONL path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pii-rate",
        type=float,
        default=0.05,
        help="fraction of user turns carrying planted personal data",
    )
    parser.add_argument("--unique", action="store_true", help="single-turn requests, every text distinct")
    args = parser.parse_args(argv)
    stats = generate(args.requests, args.out, args.seed, args.pii_rate, args.unique)
    planted = ", ".join(f"{k}={v}" for k, v in stats.planted.items())
    print(
        f"wrote {stats.requests} requests ({stats.conversations} conversations, "
        f"{stats.bytes / 1e6:.1f} MB) to {args.out}; planted: {planted}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
