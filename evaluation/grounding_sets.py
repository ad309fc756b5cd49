"""The grounding evaluation's questions, each with its expected behaviour and its split.

- in scope (the knowledge base answers them; the gold document should be cited):
  `../shared/eval/grounding-dev/in_scope_dev.jsonl` (25, dev); `sets/in_scope_headings.jsonl`
  (generated from the shared corpora's headings by `heading_questions`, split by document:
  "fit" documents train the coverage model, "dev" ones tune it, "heldout" ones never do);
  `sets/in_scope_handwritten.jsonl` (40 written for the held-out part);
- near miss (clinical, but no shipped guideline covers the topic: the answer must say so):
  `../shared/eval/grounding-dev/near_miss_dev.txt` (30, dev) and `sets/near_miss.jsonl`
  (its "dev" part was checked against the corpora with the model's help; its "heldout" part
  by reading the corpora only, and never run before the held-out report);
- non-medical (always abstained on): the 120 fixed questions (dev) and
  `sets/non_medical_heldout.jsonl` (60, held out).

The files in `sets/` are ours (CC0, like the shared grounding-dev set).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from agent.settings import shared_dir
from evaluation.report import require_file

# Clearly non-medical questions: abstaining on them is right. Medical "near-miss" questions are
# left out (nothing guarantees the knowledge base does not answer them), so the rate measured on
# these is an upper bound for medical questions outside the corpus.
OUT_OF_SCOPE_QUESTIONS: tuple[str, ...] = (
    # cooking
    "How long should I knead bread dough by hand?",
    "What is the difference between baking soda and baking powder?",
    "How do I make a roux for gumbo?",
    "At what oven temperature should a whole chicken be roasted?",
    "Why does my risotto turn out gluey?",
    "How do I temper chocolate without a thermometer?",
    "What is the ratio of rice to water for basmati rice?",
    "How do you keep a cast iron skillet from rusting?",
    "Can I substitute buttermilk with milk and lemon juice in pancakes?",
    "How do I make a sourdough starter from scratch?",
    # car repair
    "How do I replace the brake pads on a 2012 Honda Civic?",
    "Why does my car battery keep dying overnight?",
    "How often should I change the timing belt on a diesel engine?",
    "What does a check engine light with code P0420 mean?",
    "How do I bleed the air out of a clutch hydraulic line?",
    "What tyre pressure should a mid-size sedan run on the motorway?",
    "How do I jump-start a car with a dead battery safely?",
    "Why is my car's air conditioning blowing warm air?",
    "How do I change the spark plugs on a four-cylinder engine?",
    "What causes a squealing noise when turning the steering wheel?",
    # programming
    "How do I reverse a linked list in Python?",
    "What is the difference between a process and a thread?",
    "How do I undo the last git commit without losing my changes?",
    "What does the async keyword do in JavaScript?",
    "How do I write a SQL query that returns the second highest salary?",
    "What is a closure in functional programming?",
    "How do I fix a segmentation fault in a C program?",
    "What is the time complexity of quicksort in the worst case?",
    "How do I center a div horizontally and vertically with CSS?",
    "What is the difference between TCP and UDP?",
    # tax law
    "Can I deduct home office expenses if I am self-employed?",
    "What is the capital gains tax rate on shares held for more than a year?",
    "How is value added tax calculated on imported goods?",
    "When is the deadline for filing a federal income tax return?",
    "Do I have to pay tax on cryptocurrency I received as a gift?",
    "What is the difference between a tax credit and a tax deduction?",
    "How does depreciation of rental property reduce taxable income?",
    "Are lottery winnings taxable income?",
    "What records should a small business keep for a tax audit?",
    "How is inheritance tax applied to a family house?",
    # sports rules
    "How does the offside rule work in football?",
    "How many players are on the field in a rugby union team?",
    "What is a let in tennis?",
    "How is a tie-break scored in volleyball?",
    "What is the infield fly rule in baseball?",
    "How long is a quarter in professional basketball?",
    "When is a batter out leg before wicket in cricket?",
    "What is a two-point conversion in American football?",
    "How many fouls before a player fouls out in the NBA?",
    "What are the rules for castling in chess?",
    # geography
    "What is the capital of Australia?",
    "Which river flows through Budapest?",
    "What is the highest mountain in South America?",
    "How many countries border Germany?",
    "What is the largest desert in Asia?",
    "Which ocean is the Mariana Trench in?",
    "What is the longest river in Africa?",
    "Which countries share the island of Hispaniola?",
    "What is the population of Tokyo?",
    "Where is the Atacama Desert located?",
    # music theory
    "What notes make up a C major seventh chord?",
    "What is the circle of fifths?",
    "How do I transpose a melody from G major to E flat major?",
    "What is the difference between a major and a minor scale?",
    "What time signature is a waltz written in?",
    "What is a plagal cadence?",
    "How many sharps are in the key of A major?",
    "What is the Dorian mode?",
    "What does the tempo marking allegro mean?",
    "How does a tritone substitution work in jazz harmony?",
    # gardening
    "When should I plant tomato seedlings outdoors?",
    "How do I prune a rose bush in winter?",
    "What is the best way to compost kitchen scraps?",
    "How often should I water succulents indoors?",
    "Why are the leaves on my lemon tree turning yellow?",
    "How deep should tulip bulbs be planted?",
    "What vegetables grow well in partial shade?",
    "How do I get rid of aphids on my vegetable garden without chemicals?",
    "When is the best time to reseed a lawn?",
    "How do I propagate a pothos plant from cuttings?",
    # astronomy
    "How far is the Moon from the Earth?",
    "Why does Mars appear red?",
    "What is a light year?",
    "How many moons does Jupiter have?",
    "What causes a solar eclipse?",
    "What is the difference between a meteor and a meteorite?",
    "How old is the universe?",
    "What is a black hole's event horizon?",
    "When is the next total lunar eclipse visible from Europe?",
    "Why does Saturn have rings?",
    # history
    "When did the Berlin Wall fall?",
    "Who was the first emperor of Rome?",
    "What caused the start of the First World War?",
    "When was the Magna Carta signed?",
    "Who built the pyramids of Giza?",
    "What was the Hanseatic League?",
    "When did the French Revolution begin?",
    "Who was Genghis Khan?",
    "What was the Marshall Plan?",
    "Why did the Western Roman Empire collapse?",
    # finance
    "What is the difference between a stock and a bond?",
    "How does compound interest work on a savings account?",
    "Should I pay off my mortgage early or invest in an index fund?",
    "What is a price-to-earnings ratio?",
    "How do exchange-traded funds differ from mutual funds?",
    "What is dollar-cost averaging?",
    "How is a credit score calculated?",
    "What does it mean when a bond yield curve inverts?",
    "How do I calculate the monthly payment on a car loan?",
    "What is a Roth IRA and who can contribute to one?",
    # household DIY
    "How do I fix a leaking kitchen faucet?",
    "How do I patch a hole in drywall?",
    "What type of paint should I use on a bathroom ceiling?",
    "How do I unclog a bathroom sink drain without chemicals?",
    "How do I replace a light switch safely?",
    "How do I remove old silicone caulk from a bathtub?",
    "What size drill bit do I need for a 6 mm wall plug?",
    "How do I fix a squeaky door hinge?",
    "How do I hang a heavy mirror on a plaster wall?",
    "How do I reset a tripped circuit breaker?",
)

SETS = Path(__file__).with_name("sets")
HEADINGS_FILE = SETS / "in_scope_headings.jsonl"


class Expect(Enum):
    ANSWER = "in_scope"  # answered, citing the gold document
    NOT_COVERED = "near_miss"  # said not to be covered
    ABSTAIN = "non_medical"  # abstained on


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    expect: Expect
    split: str  # "fit", "dev" or "heldout"
    source: str  # which file it comes from
    gold_url: str | None = None


def grounding_dev_dir() -> Path:
    return shared_dir() / "eval" / "grounding-dev"


def _jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def load_questions() -> list[EvalQuestion]:
    """Every question of the evaluation, fit split included (callers pick their splits)."""
    shared = grounding_dev_dir()
    questions: list[EvalQuestion] = []
    for row in _jsonl(require_file(shared / "in_scope_dev.jsonl", "grounding dev set")):
        questions.append(
            EvalQuestion(
                row["id"], row["question"], Expect.ANSWER, "dev", "shared", row["gold_url"]
            )
        )
    for row in _jsonl(HEADINGS_FILE):
        questions.append(
            EvalQuestion(
                row["id"], row["question"], Expect.ANSWER, row["split"], "headings", row["gold_url"]
            )
        )
    for row in _jsonl(SETS / "in_scope_handwritten.jsonl"):
        questions.append(
            EvalQuestion(
                row["id"],
                row["question"],
                Expect.ANSWER,
                "heldout",
                "handwritten",
                row["gold_url"],
            )
        )
    near = require_file(shared / "near_miss_dev.txt", "grounding dev set")
    for number, line in enumerate(near.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            questions.append(
                EvalQuestion(
                    f"nm-shared-{number:02d}", line.strip(), Expect.NOT_COVERED, "dev", "shared"
                )
            )
    for row in _jsonl(SETS / "near_miss.jsonl"):
        questions.append(
            EvalQuestion(row["id"], row["question"], Expect.NOT_COVERED, row["split"], "written")
        )
    for number, text in enumerate(OUT_OF_SCOPE_QUESTIONS, start=1):
        questions.append(
            EvalQuestion(f"nonmed-dev-{number:03d}", text, Expect.ABSTAIN, "dev", "non-medical")
        )
    for row in _jsonl(SETS / "non_medical_heldout.jsonl"):
        questions.append(
            EvalQuestion(row["id"], row["question"], Expect.ABSTAIN, "heldout", "non-medical")
        )
    return questions
